//! What the app shows the holder: progress and errors as typed events with human messages.

use std::fmt;

/// One thing a screen would show. `Display` gives the message in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UiEvent {
    /// Ask for the 4-digit card password.
    EnterPassword,
    /// Ask the holder to tap (or tap again).
    TapCard,
    /// The card is being read.
    Reading,
    /// The card left the field mid-read; nothing was lost, tap again.
    CardRemovedEarly,
    /// An answer from the card was garbled; tap again.
    CardReadError,
    /// The card refused the password.
    WrongPassword {
        /// Tries the card has left.
        tries_left: u8,
    },
    /// The holder entered a password the card has just refused; it is not sent again.
    PasswordAlreadyRefused,
    /// The card left the field while checking the password, so the app cannot tell whether
    /// the password was right; the holder re-enters it rather than the app spending a second
    /// try on its own.
    PasswordCheckInterrupted {
        /// Tries the card has left.
        tries_left: u8,
    },
    /// The password is suspended (one try left): the 6-digit CAN printed on the card is
    /// needed first.
    EnterCan,
    /// The card refused the CAN.
    WrongCan,
    /// The card password is blocked.
    PasswordBlocked,
    /// The card is not a resident registration card (no eMRTD application).
    NotAResidentCard,
    /// Passive or Active Authentication failed.
    CardNotGenuine {
        /// What failed.
        detail: String,
    },
    /// The card answered an error the app does not expect.
    CardError {
        /// The status word or problem, for support.
        detail: String,
    },
    /// The card has been read and authenticated.
    CardRead,
    /// The issuer is issuing the mobile ID.
    Issuing,
    /// The mobile ID was issued, verified and stored.
    Issued,
    /// The rollout has not reached the holder's legal address (or the route) yet.
    NotOpenYet {
        /// The holder's region, if known.
        region: Option<String>,
        /// Opening year.
        year: u16,
        /// Opening month (1-12).
        month: u8,
        /// Opening day.
        day: u8,
    },
    /// The issuer refused, for the reason it gave.
    IssuerRefused {
        /// The OAuth / OID4VCI error code.
        code: protocol::oid4vci::ErrorCode,
        /// The issuer's description.
        detail: String,
    },
    /// The desk's offer can no longer be used (expired, used, burned by wrong codes).
    OfferUnusable {
        /// The issuer's reason.
        detail: String,
    },
    /// The issuer could not be reached after retries.
    IssuerUnreachable {
        /// What failed.
        detail: String,
    },
    /// The issuer answered something out of protocol.
    IssuerError {
        /// What was wrong.
        detail: String,
    },
    /// The credential the issuer sent did not verify, so it was not stored.
    CredentialRejected {
        /// What failed.
        detail: String,
    },
    /// Something on the phone failed (keystore).
    PhoneError {
        /// What failed.
        detail: String,
    },
    /// The mobile ID on this phone was revoked.
    Revoked {
        /// Why, in the issuer's words.
        reason: String,
    },
    /// The QR code could not be read.
    QrUnreadable,
    /// The QR code is not a mobile ID offer.
    NotAnOffer,
    /// Ask the holder to scan the desk's QR code.
    ScanQr,
    /// The transaction code was wrong.
    WrongTxCode {
        /// Guesses left before the offer is burned.
        attempts_left: u8,
    },
    /// Ask for the transaction code the clerk gave.
    EnterTxCode {
        /// Digits expected.
        length: u8,
    },
    /// Ask the holder to scan the relying party's QR code.
    ScanVerifierQr,
    /// The QR code is not a relying party's request.
    NotAVerifierRequest,
    /// Ask the holder to consent to showing these elements to this relying party, and for
    /// the app PIN.
    ConsentRequested {
        /// The relying party's name.
        verifier: String,
        /// What it asks for (element identifiers).
        elements: Vec<String>,
    },
    /// The relying party could not be trusted (unsigned or unknown profile, or it asks for
    /// something the app cannot give).
    VerifierUntrusted {
        /// What failed.
        detail: String,
    },
    /// No usable mobile ID on this phone (none, expired, or revoked).
    NoMobileId,
    /// The relying party accepted the mobile ID.
    Presented {
        /// The relying party's name.
        verifier: String,
    },
    /// The relying party refused the mobile ID, with its M900 code and message.
    PresentationRefused {
        /// The M900 errcode.
        code: u32,
        /// Its errmsg.
        detail: String,
    },
    /// The relying party could not be reached or answered out of protocol.
    VerifierUnreachable {
        /// What failed.
        detail: String,
    },
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl fmt::Display for UiEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tries = |n: u8| {
            if n == 1 {
                "1 try left".to_string()
            } else {
                format!("{n} tries left")
            }
        };
        match self {
            Self::EnterPassword => f.write_str("Enter your 4-digit card password"),
            Self::TapCard => f.write_str("Tap your card"),
            Self::Reading => f.write_str("Reading your card, keep it still"),
            Self::CardRemovedEarly => f.write_str("Card removed too early, tap again"),
            Self::CardReadError => {
                f.write_str("Could not read the card, hold it still and tap again")
            }
            Self::WrongPassword { tries_left } => {
                write!(f, "Wrong card password, {}", tries(*tries_left))
            }
            Self::PasswordAlreadyRefused => {
                f.write_str("The card has just refused that password, enter a different one")
            }
            Self::PasswordCheckInterrupted { tries_left } => write!(
                f,
                "The card was removed while checking your password. Enter it again and tap ({})",
                tries(*tries_left)
            ),
            Self::EnterCan => f.write_str(
                "Your card password is suspended. Enter the 6-digit CAN printed on your card",
            ),
            Self::WrongCan => f.write_str("Wrong CAN, check the 6 digits printed on your card"),
            Self::PasswordBlocked => f.write_str(
                "Your card password is blocked. Visit a community service center to reset it",
            ),
            Self::NotAResidentCard => f.write_str("This is not a resident registration IC card"),
            Self::CardNotGenuine { detail } => {
                write!(f, "This card could not be verified as genuine ({detail})")
            }
            Self::CardError { detail } => write!(f, "The card reported an error ({detail})"),
            Self::CardRead => f.write_str("Card read, you can remove it"),
            Self::Issuing => f.write_str("Issuing your mobile ID"),
            Self::Issued => f.write_str("Your mobile ID is ready"),
            Self::NotOpenYet {
                region, month, day, ..
            } => {
                let month = MONTHS
                    .get(usize::from(*month).wrapping_sub(1))
                    .copied()
                    .unwrap_or("?");
                match region {
                    Some(r) => write!(f, "This service opens for {r} on {day} {month}"),
                    None => write!(f, "This service opens on {day} {month}"),
                }
            }
            Self::IssuerRefused { detail, .. } => write!(
                f,
                "The mobile ID cannot be issued: {}",
                detail.strip_prefix("refused: ").unwrap_or(detail)
            ),
            Self::OfferUnusable { detail } => write!(
                f,
                "This QR code can no longer be used ({detail}). Ask the clerk for a new one"
            ),
            Self::IssuerUnreachable { .. } => {
                f.write_str("The mobile ID service cannot be reached, try again later")
            }
            Self::IssuerError { detail } => {
                write!(f, "The mobile ID service answered wrongly ({detail})")
            }
            Self::CredentialRejected { detail } => write!(
                f,
                "The mobile ID received did not verify and was not stored ({detail})"
            ),
            Self::PhoneError { detail } => write!(f, "Phone error ({detail})"),
            Self::Revoked { reason } => {
                write!(f, "Your mobile ID on this phone was revoked: {reason}")
            }
            Self::QrUnreadable => {
                f.write_str("The QR code could not be read, hold the phone steady")
            }
            Self::ScanQr => f.write_str("Scan the QR code shown at the community center desk"),
            Self::WrongTxCode { attempts_left } => write!(
                f,
                "Wrong code, {attempts_left} attempt{} left",
                if *attempts_left == 1 { "" } else { "s" }
            ),
            Self::NotAnOffer => f.write_str("This QR code is not a mobile ID offer"),
            Self::EnterTxCode { length } => {
                write!(f, "Enter the {length}-digit code the clerk gave you")
            }
            Self::ScanVerifierQr => f.write_str("Scan the QR code shown at the counter"),
            Self::NotAVerifierRequest => {
                f.write_str("This QR code is not a request for your mobile ID")
            }
            Self::ConsentRequested { verifier, elements } => write!(
                f,
                "{verifier} asks to see: {}. Enter your PIN to agree",
                elements.join(", ")
            ),
            Self::VerifierUntrusted { detail } => write!(
                f,
                "This request could not be verified, nothing was shown ({detail})"
            ),
            Self::NoMobileId => f.write_str("There is no valid mobile ID on this phone"),
            Self::Presented { verifier } => write!(f, "Your mobile ID was accepted by {verifier}"),
            Self::PresentationRefused { code, detail } => {
                write!(f, "Your mobile ID was not accepted ({code}: {detail})")
            }
            Self::VerifierUnreachable { .. } => {
                f.write_str("The counter's system cannot be reached, try again")
            }
        }
    }
}
