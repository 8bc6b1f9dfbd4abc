//! The HTTPS certificate a service shows: its expiry date, read during the handshake by a
//! verifier that records the certificate before the platform's verifier judges it (so that an
//! expired or untrusted certificate still tells when it expires).
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Where a [`Recording`] verifier leaves the expiry of the certificate it saw.
pub type Seen = Arc<Mutex<Option<DateTime<Utc>>>>;

/// The platform's verifier (the system's roots, plus a check's own CA), judging at `now` — the
/// command's clock, so that `--now` moves certificate validity with everything else — after
/// recording the end-entity certificate's expiry.
#[derive(Debug)]
pub struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Seen,
    now: UnixTime,
}

impl Recording {
    pub fn new(inner: Arc<dyn ServerCertVerifier>, seen: Seen, now: DateTime<Utc>) -> Recording {
        let seconds = u64::try_from(now.timestamp()).unwrap_or(0);
        Recording { inner, seen, now: UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)) }
    }
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = not_after(end_entity.as_ref());
        self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, self.now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The `notAfter` of an X.509 certificate (DER). Read by hand: it is the one field wanted, a
/// fixed walk into the structure (Certificate → TBSCertificate → Validity), where an X.509 crate
/// would bring a parser stack for it.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let certificate = Der(der).take(SEQUENCE)?;
    let mut tbs = Der(Der(certificate).take(SEQUENCE)?);
    if tbs.0.first() == Some(&VERSION) {
        tbs.any()?;
    }
    tbs.take(INTEGER)?; // serialNumber
    tbs.take(SEQUENCE)?; // signature algorithm
    tbs.take(SEQUENCE)?; // issuer
    let mut validity = Der(tbs.take(SEQUENCE)?);
    validity.any()?; // notBefore
    let (tag, value) = validity.any()?;
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        // UTCTime: two-digit years, 1950–2049 (RFC 5280).
        UTC_TIME if text.len() == 12 => {
            let yy: i32 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |at: usize| rest.get(at..at + 2)?.parse::<u32>().ok();
    let day = NaiveDate::from_ymd_opt(year, field(0)?, field(2)?)?;
    Some(day.and_hms_opt(field(4)?, field(6)?, field(8)?)?.and_utc())
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xA0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The rest of a DER encoding, read one element at a time.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next element's tag and contents.
    fn any(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
        };
        if rest.len() < length {
            return None;
        }
        let (value, after) = rest.split_at(length);
        self.0 = after;
        Some((tag, value))
    }

    /// The next element's contents, if it has `tag`.
    fn take(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.any().filter(|(t, _)| *t == tag).map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn reads_the_expiry_of_real_certificates() {
        let root = env!("CARGO_MANIFEST_DIR");
        let expiry = |path: &str| {
            let der = CertificateDer::from_pem_file(format!("{root}/{path}")).unwrap();
            not_after(der.as_ref()).map(|t| t.to_rfc3339())
        };
        assert_eq!(expiry("tests/fixtures/monitor-tls/cert.pem").as_deref(), Some("2026-12-17T00:00:00+00:00"));
        // After 2049 the date is a GeneralizedTime, four-digit year.
        assert_eq!(expiry("tests/fixtures/relay-tls/cert.pem").as_deref(), Some("2126-11-08T06:11:13+00:00"));
        assert_eq!(not_after(b"\x30\x03\x02\x01"), None, "truncated");
        assert_eq!(not_after(b""), None);
    }
}
