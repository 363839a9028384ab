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
}

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
        }
    }
}
