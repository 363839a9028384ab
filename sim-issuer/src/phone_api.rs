//! The issuer's endpoints for the phone as one typed call: [`Issuer::serve`] takes a
//! [`protocol::issuance::IssuerRequest`] and answers an [`IssuerReply`], so the phone, the
//! issuer and any transport between them (the HTTP shell, the load harness, a test) speak the
//! same vocabulary.

use protocol::issuance::{IssuerReply, IssuerRequest};
use protocol::oid4vci::ErrorResponse;

use crate::issuer::Issuer;
use crate::{Error, UnixTime};

/// The wire form of an issuer error: the OAuth / OID4VCI error body (OID4VCI §6.3, §8.3.1).
pub fn error_reply(e: &Error) -> IssuerReply {
    IssuerReply::Error(ErrorResponse {
        error: e.code(),
        error_description: Some(e.to_string()),
    })
}

impl Issuer {
    /// Serve one phone request at `now`. `idempotency_key` makes a retried token or
    /// credential request answer as the first did. The typed error is returned so a shell can
    /// log or count it; [`error_reply`] is what the phone receives.
    pub fn serve(
        &mut self,
        idempotency_key: &str,
        request: &IssuerRequest,
        now: UnixTime,
    ) -> Result<IssuerReply, Error> {
        Ok(match request {
            IssuerRequest::Offer { uri } => IssuerReply::Offer(self.offer_by_reference(uri, now)?),
            IssuerRequest::Nonce => IssuerReply::Nonce(self.nonce(now)?),
            IssuerRequest::Token(t) => IssuerReply::Token(self.token(idempotency_key, t, now)?),
            IssuerRequest::Credential {
                access_token,
                request,
            } => IssuerReply::Credential(self.credential(
                idempotency_key,
                access_token,
                request,
                now,
            )?),
            IssuerRequest::Status { document_number } => {
                IssuerReply::Status(self.status(document_number, now)?)
            }
        })
    }
}
