//! One idempotency mechanism for every mutating endpoint: a retried or duplicated request
//! with the same key and content gets the first answer (success or error) and changes
//! nothing; the same key with other content is refused ([`Error::IdempotencyKeyReused`]).
//! An answer type takes part by being [`Remembered`].

use super::*;

/// An endpoint's answer the issuer keeps for retries under the same key.
pub(super) trait Remembered: Clone + Sized {
    /// Keep the answer.
    fn keep(answer: Result<Self, Error>) -> Stored;
    /// The kept answer, if it is one of this type.
    fn recall(stored: &Stored) -> Option<&Result<Self, Error>>;
}

macro_rules! remembered {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl Remembered for $t {
            fn keep(answer: Result<Self, Error>) -> Stored {
                Stored::$variant(answer)
            }
            fn recall(stored: &Stored) -> Option<&Result<Self, Error>> {
                match stored {
                    Stored::$variant(r) => Some(r),
                    _ => None,
                }
            }
        }
    )*};
}

remembered! {
    DeskOffer => Offer,
    TokenResponse => Token,
    CredentialResponse => Credential,
    () => Ack,
    IcCardReceipt => IcCard,
}

impl Issuer {
    /// Run `run` once per `key`: the first answer is kept (for the retention window) and
    /// given again to a retry with the same fingerprint `fp` of the request.
    pub(super) fn idempotent<T: Remembered>(
        &mut self,
        now: UnixTime,
        key: &str,
        fp: [u8; 32],
        run: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if let Some((seen, stored)) = self.idempotency.get(key) {
            if *seen != fp {
                return Err(Error::IdempotencyKeyReused);
            }
            return T::recall(stored)
                .cloned()
                .unwrap_or(Err(Error::IdempotencyKeyReused));
        }
        self.purge(now);
        let out = run(self);
        self.idempotency
            .insert(key.to_owned(), (fp, T::keep(out.clone())));
        self.expiries.push_back((
            now.saturating_add(self.config.retention),
            Expiring::Idempotency(key.to_owned()),
        ));
        out
    }
}
