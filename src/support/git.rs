//! Answering git's credential requests with a token that never touches disk.

use std::cell::Cell;

use git2::{Cred, CredentialType, RemoteCallbacks};
use secrecy::{ExposeSecret, SecretString};

/// Callbacks that answer an https credential request with the token (as GitHub's
/// `x-access-token` user), once. libgit2 asks again after a rejection and would loop; the
/// second request fails instead and sets `rejected`, so the caller can report an
/// authentication failure.
pub fn token_callbacks<'a>(
    token: Option<&'a SecretString>,
    rejected: &'a Cell<bool>,
) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    let mut attempts = 0_u32;
    callbacks.credentials(move |_url, _username, allowed| {
        attempts += 1;
        match token {
            Some(token)
                if attempts == 1 && allowed.contains(CredentialType::USER_PASS_PLAINTEXT) =>
            {
                Cred::userpass_plaintext("x-access-token", token.expose_secret())
            }
            _ => {
                rejected.set(true);
                Err(git2::Error::from_str(
                    "the remote asked for credentials: none were given or they were rejected",
                ))
            }
        }
    });
    callbacks
}
