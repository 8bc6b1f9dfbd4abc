//! The rmcp glue, and the only file that knows rmcp: the tool table (each tool's name, what it
//! does, its input schema from its argument type, whether it only reads), the resources, and
//! the stdio loop. Every tool runs on a blocking thread — they read files, render, open the
//! store and call WeChat through a blocking client — and every call is logged in one line.
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::{Answer, Session, ToolError, log, read, resources, wechat, write};

/// What the server tells a client about itself when it connects.
const INSTRUCTIONS: &str = "wxpub runs a museum's WeChat Official Account content: one folder per item under \
content/ (articles, posters, topic pages), Markdown with YAML front matter, checked against WeChat's limits and \
the museum's rules. Read contract_rules (or the editors' guide resource) before writing; after an edit, the \
diagnostics come back with it — fix errors first. Items are named by key (articles/2026-12-01-ding-story). \
Publishing and mass sending are never done from here: a person runs `wxpub publish`.";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot start the MCP server: {0}")]
    Start(String),
    #[error("the MCP session ended with an error: {0}")]
    Stopped(String),
}

/// Whether a tool only reads, writes the project's files, or reaches WeChat.
#[derive(Clone, Copy)]
enum Reach {
    Reads,
    WritesFiles,
    ReachesWechat,
}

type Run = Box<dyn Fn(&Session, JsonObject) -> Result<Answer, ToolError> + Send + Sync>;

struct ToolDef {
    tool: Tool,
    run: Run,
}

/// One tool: its input schema is `T`'s, and its arguments are read as a `T` (an argument it
/// does not know is an error, not ignored).
fn tool<T: DeserializeOwned + JsonSchema + 'static>(
    name: &'static str,
    description: &'static str,
    reach: Reach,
    run: fn(&Session, T) -> Result<Answer, ToolError>,
) -> ToolDef {
    let annotations = match reach {
        Reach::Reads => ToolAnnotations::new().read_only(true).open_world(false),
        Reach::WritesFiles => ToolAnnotations::new().read_only(false).destructive(false).open_world(false),
        Reach::ReachesWechat => ToolAnnotations::new().read_only(false).destructive(false).open_world(true),
    };
    let tool = Tool::new(name, description, JsonObject::new()).with_input_schema::<T>().with_annotations(annotations);
    let run: Run = Box::new(move |session, args| {
        let args: T =
            serde_json::from_value(serde_json::Value::Object(args)).map_err(|e| ToolError::Arguments(e.to_string()))?;
        run(session, args)
    });
    ToolDef { tool, run }
}

fn tools() -> Vec<ToolDef> {
    [read_tools(), write_tools(), wechat_tools()].into_iter().flatten().collect()
}

fn read_tools() -> Vec<ToolDef> {
    use Reach::*;
    vec![
        tool(
            "list_items",
            "Every item with its kind, title, account, publish time, where it stands (phase, state, due) and the items it waits for.",
            Reads,
            read::list_items,
        ),
        tool(
            "read_item",
            "One item: its front matter (as wxpub parses it), its Markdown body and its diagnostics.",
            Reads,
            read::read_item,
        ),
        tool(
            "check",
            "Lint items (all, or those named) as `wxpub check --format json` does: WeChat's limits, front matter, images, links, Chinese typography, the word list.",
            Reads,
            read::check,
        ),
        tool(
            "status",
            "What is due to publish, publishing at WeChat, in conflict with the web backend, refused or failed; every item's standing (from publish.lock).",
            Reads,
            read::status,
        ),
        tool(
            "report",
            "A statistics report as `wxpub report` makes it: summary, articles, item, comments, availability or followers, over a period.",
            Reads,
            read::report,
        ),
        tool(
            "list_comments",
            "Readers' comments from the last `wxpub comments pull`, unanswered first, with the number reply_comment takes.",
            Reads,
            read::list_comments,
        ),
        tool(
            "contract_rules",
            "WeChat's limits (title, digest, content length as WeChat counts it, images, pushes, quotas) and every check rule with its severity here.",
            Reads,
            read::contract_rules,
        ),
    ]
}

fn write_tools() -> Vec<ToolDef> {
    use Reach::*;
    vec![
        tool(
            "new_item",
            "Create a dated item folder with its front matter filled in, as `wxpub new`.",
            WritesFiles,
            write::new_item,
        ),
        tool(
            "update_item",
            "Change an item's Markdown body and/or front-matter keys (or its whole source). Read by wxpub's parser first: a front matter it refuses is an error and nothing is written. Returns the diagnostics before and after.",
            WritesFiles,
            write::update_item,
        ),
        tool(
            "fix_typography",
            "Apply the safe Chinese typography fixes (spacing, full-width punctuation, brackets) in place, as `wxpub check --fix`.",
            WritesFiles,
            write::fix_typography,
        ),
        tool(
            "build_item",
            "An item's HTML as WeChat would receive it, and its length as WeChat counts it (visible characters and bytes) against the limits.",
            Reads,
            write::build_item,
        ),
    ]
}

fn wechat_tools() -> Vec<ToolDef> {
    use Reach::*;
    vec![
        tool(
            "send_preview",
            "Send the pushes holding these items to the reviewers' phones (`[publish] reviewers`) as WeChat's preview; publishes nothing. Needs `[mcp] allow = [\"send_preview\"]` in publish.toml.",
            ReachesWechat,
            wechat::send_preview,
        ),
        tool(
            "reply_comment",
            "Answer a reader's comment (checked for length and the word list first). Needs `[mcp] allow = [\"reply_comment\"]` in publish.toml.",
            ReachesWechat,
            wechat::reply_comment,
        ),
    ]
}

/// The names of the tools, in the order a client lists them.
pub fn tool_names() -> Vec<String> {
    tools().into_iter().map(|t| t.tool.name.to_string()).collect()
}

struct Handler {
    session: Arc<Session>,
    tools: Arc<Vec<ToolDef>>,
}

/// A tool's answer as MCP carries it: the value as `structuredContent` (an object), and the
/// short text and the value as text for clients that show only text.
fn answered(answer: Answer) -> CallToolResult {
    let value = match answer.value {
        object @ serde_json::Value::Object(_) => object,
        other => serde_json::json!({ "result": other }),
    };
    let mut result = CallToolResult::structured(value.clone());
    result.content = vec![ContentBlock::text(answer.summary), ContentBlock::text(value.to_string())];
    result
}

/// A tool's error as MCP carries it (`isError`), its message redacted.
fn refused(message: &str) -> CallToolResult {
    let message = crate::util::redact::redact(message);
    let mut result = CallToolResult::structured_error(serde_json::json!({ "error": message }));
    result.content = vec![ContentBlock::text(message)];
    result
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("wxpub", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.iter().map(|t| t.tool.clone()).collect()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        let args = request.arguments.unwrap_or_default();
        let started = std::time::Instant::now();
        let Some(index) = self.tools.iter().position(|t| t.tool.name == name) else {
            (self.session.log)(&log::call_line(&name, &args, Err("no such tool"), 0));
            return Err(McpError::invalid_params(format!("no tool `{name}`"), None));
        };
        let (session, tools, logged) = (Arc::clone(&self.session), Arc::clone(&self.tools), args.clone());
        let outcome = tokio::task::spawn_blocking(move || (tools[index].run)(&session, args)).await;
        let message = match &outcome {
            Ok(Ok(_)) => None,
            // The messages carry their causes already (`cannot write x: disk full`).
            Ok(Err(error)) => Some(error.to_string()),
            Err(stopped) => Some(format!("the tool stopped: {stopped}")),
        };
        let millis = started.elapsed().as_millis();
        (self.session.log)(&log::call_line(&name, &logged, message.as_deref().map_or(Ok(()), Err), millis));
        Ok(match (outcome, message) {
            (Ok(Ok(answer)), _) => answered(answer),
            (_, message) => refused(message.as_deref().unwrap_or("failed")),
        }
        .into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let listed = resources::RESOURCES.iter().map(|(uri, name, description, media_type)| {
            Resource::new(*uri, *name).with_description(*description).with_mime_type(*media_type)
        });
        Ok(ListResourcesResult::with_all_items(listed.collect()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri;
        let config = crate::config::Config::load(&self.session.root)
            .map_err(|e| McpError::internal_error(crate::util::redact::redact(&e.to_string()), None))?;
        let text = resources::read(&uri, &config)
            .map_err(|e| McpError::internal_error(crate::util::redact::redact(&e.to_string()), None))?
            .ok_or_else(|| McpError::resource_not_found(format!("no resource `{uri}`"), None))?;
        let media_type = resources::RESOURCES.iter().find(|r| r.0 == uri).map_or("text/plain", |r| r.3);
        (self.session.log)(&log::call_line(
            "resources/read",
            &JsonObject::from_iter([("uri".into(), uri.clone().into())]),
            Ok(()),
            0,
        ));
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type(media_type)]).into())
    }
}

/// Serves `session` over stdin and stdout until the client closes them. Nothing else may write
/// to stdout meanwhile: it is the protocol's channel.
pub fn serve(session: Session) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Start(e.to_string()))?;
    let handler = Handler { session: Arc::new(session), tools: Arc::new(tools()) };
    let served = runtime.block_on(async {
        let running = handler.serve(rmcp::transport::stdio()).await.map_err(|e| ServeError::Start(e.to_string()))?;
        running.waiting().await.map_err(|e| ServeError::Stopped(e.to_string()))?;
        Ok(())
    });
    // A tool still running when the client went away is not waited for long.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    served
}
