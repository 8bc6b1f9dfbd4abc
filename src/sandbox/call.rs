//! What an API endpoint is given (its call: method, path, query, body; or an upload's fields)
//! and how it answers (JSON, or WeChat's `{"errcode", "errmsg"}` for a refusal).
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{Method, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::state::{Refusal, refuse};

/// What an endpoint answers: a JSON body, or a refusal.
pub type Reply = Result<Value, Refusal>;

/// An endpoint's answer as a response. A refusal is marked (see [`refused`]) so that the
/// middleware neither counts the call nor saves the state after it.
pub struct Answer(pub Reply);

/// The mark of a refused call on its response.
#[derive(Clone, Copy)]
struct Refused;

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let refused = self.0.is_err();
        let mut response = answer(self.0);
        if refused {
            response.extensions_mut().insert(Refused);
        }
        response
    }
}

/// Whether an endpoint refused the call (its answer is an error).
pub fn refused(response: &Response) -> bool {
    response.extensions().get::<Refused>().is_some()
}

pub fn answer(result: Reply) -> Response {
    let body = match result {
        Ok(value) => value,
        Err((errcode, errmsg)) => json!({ "errcode": errcode, "errmsg": errmsg }),
    };
    // serde_json writes UTF-8, as WeChat does.
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

/// The query string's parameters (none when it does not parse).
pub fn query_of(uri: &Uri) -> HashMap<String, String> {
    axum::extract::Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default()
}

/// A JSON API call: its body read whole (44002 when it cannot be).
pub struct Call {
    pub method: Method,
    /// As sent (not percent-decoded): what the endpoint tables name.
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Call {
    type Rejection = Answer;

    async fn from_request(request: Request, _: &S) -> Result<Self, Answer> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 32 * 1024 * 1024)
            .await
            .map_err(|_| Answer(Err(refuse(44002, "empty post data"))))?;
        Ok(Call { method: parts.method, path: parts.uri.path().to_string(), query: query_of(&parts.uri), body })
    }
}

pub struct UploadField {
    pub filename: Option<String>,
    pub bytes: Bytes,
}

/// A multipart upload's fields by name (41005 when the body is not multipart or is malformed).
pub struct Upload {
    pub query: HashMap<String, String>,
    pub fields: HashMap<String, UploadField>,
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = Answer;

    async fn from_request(request: Request, state: &S) -> Result<Self, Answer> {
        let query = query_of(request.uri());
        let multipart = Multipart::from_request(request, state).await.map_err(|_| {
            Answer(Err(refuse(41005, "media data missing: send multipart/form-data with a `media` file field")))
        })?;
        let fields = read_multipart(multipart).await.map_err(|refusal| Answer(Err(refusal)))?;
        Ok(Upload { query, fields })
    }
}

async fn read_multipart(mut multipart: Multipart) -> Result<HashMap<String, UploadField>, Refusal> {
    let mut fields = HashMap::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let filename = field.file_name().map(str::to_string);
                let bytes = field.bytes().await.map_err(|_| refuse(41005, "media data missing"))?;
                fields.insert(name, UploadField { filename, bytes });
            }
            Ok(None) => return Ok(fields),
            Err(_) => return Err(refuse(41005, "media data missing: malformed multipart body")),
        }
    }
}

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| refuse(47001, format!("data format error: {e}")))
}

/// Parses a draft body the way the draft API stores it: `\uXXXX` escapes are kept literally
/// (a title sent as `\u9752\u94dc` reads `\u9752\u94dc`, not 青铜).
pub fn parse_literal_escapes<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    let text = String::from_utf8_lossy(body);
    parse(text.replace("\\u", "\\\\u").as_bytes())
}

pub fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A page size of the batchget endpoints: 1 to 20.
pub fn check_count(count: u32) -> Result<(), Refusal> {
    if (1..=20).contains(&count) { Ok(()) } else { Err(refuse(47001, "data format error: count must be 1 to 20")) }
}
