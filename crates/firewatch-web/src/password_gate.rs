//! The one gate every password goes through: `POST /login` and TAXII's HTTP Basic alike.
//!
//! A password check is Argon2id with 19 MiB of memory and tens of milliseconds of CPU, asked
//! for by anyone who can reach the port. Without a gate, TAXII Basic had no failure limit, an
//! unknown name answered in 1 ms against 30–50 ms for a known one, and 48 anonymous attempts at
//! once took the service from 11 MB to 940 MB (issue 22, items 7 and 8). The gate:
//!
//! - **Failure limit per name**, shared by both ways in ([`LoginLimiter`]): after 5 failures in
//!   5 minutes the name is refused (429 with `Retry-After`) without running Argon2.
//! - **Same cost for every failure**: an unknown name, or a user without a password (token
//!   only), is verified against a decoy hash ([`decoy_password_hash`]), so the time of an
//!   answer does not tell which names exist.
//! - **Bounded work and memory**: at most [`PasswordGate::verifiers`] Argon2 runs at once (the
//!   CPUs less one, at least one, so a core stays free to serve everything else) and at most
//!   [`MAX_WAITING`] more checks queued behind them; beyond that a check is refused at once
//!   (503 with `Retry-After`), before any Argon2 and before touching the store. Argon2 runs on
//!   that many threads of its own, each reusing one working buffer
//!   ([`crate::auth::verify_password_in`]), not on tokio's blocking pool: glibc keeps a freed
//!   19 MiB block in the arena of the thread that used it, so checks spread over the pool's
//!   threads, each allocating afresh, kept hundreds of MiB resident even when they ran one at
//!   a time. Memory for passwords is thus `verifiers × 19 MiB`, whatever the number of
//!   attempts.
//! - **Verified Basic credentials are remembered** for [`CACHE_TTL`] (at most [`CACHE_SIZE`]
//!   of them), so a TAXII client that sends Basic with every request pays Argon2 once a minute,
//!   not per request. The cache keeps only a keyed BLAKE3 hash of name and password under a
//!   random per-process key, with the user's stored PHC string: a changed password or a
//!   removed user stops matching at the next request. A remembered, correct password is let in
//!   even while its name is locked out by someone else's guesses.

use crate::AppState;
use crate::error::ApiError;
use crate::session::{LoginLimiter, decoy_password_hash};
use firewatch_store::UserRecord;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Checks allowed to wait for an Argon2 slot; more are refused at once.
pub const MAX_WAITING: usize = 64;
/// How long a verified Basic credential is remembered.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Verified Basic credentials remembered at most.
pub const CACHE_SIZE: usize = 1024;
/// The longest name and password checked; longer ones fail without Argon2.
const MAX_NAME: usize = 128;
const MAX_PASSWORD: usize = 1024;

/// Why a password check did not let the caller in.
#[derive(Debug)]
pub enum Refusal {
    /// Unknown name, wrong password or a user without a password: one answer for all (401).
    Wrong,
    /// Too many failures for this name lately (429); try again after this long.
    Locked { retry_after: Duration },
    /// Too many checks in progress (503); try again in a moment.
    Busy,
    /// The store failed (500).
    Failed(ApiError),
}

impl Refusal {
    /// Seconds for a `Retry-After` header, for the refusals that have one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Refusal::Locked { retry_after } => Some(retry_after.as_secs().max(1)),
            Refusal::Busy => Some(1),
            Refusal::Wrong | Refusal::Failed(_) => None,
        }
    }
}

/// Whether a verified credential may be remembered (TAXII Basic) or not (the login form,
/// which makes a session instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remember {
    Yes,
    No,
}

/// The gate; one per service, in [`AppState`].
pub struct PasswordGate {
    /// Failed checks per name.
    pub limiter: LoginLimiter,
    /// Argon2 runs at once.
    verifiers: usize,
    verifying: Semaphore,
    /// Running plus waiting checks.
    admitted: Semaphore,
    /// keyed hash of (name, password) → (the user's PHC string then, when verified).
    cache: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    cache_key: [u8; 32],
}

impl std::fmt::Debug for PasswordGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGate")
            .field("verifiers", &self.verifiers)
            .finish_non_exhaustive()
    }
}

impl Default for PasswordGate {
    fn default() -> Self {
        PasswordGate::new(default_verifiers(), MAX_WAITING)
    }
}

/// The CPUs less one, at least one.
fn default_verifiers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus.saturating_sub(1).max(1)
}

type Job = Box<dyn FnOnce() + Send>;

/// The threads that run Argon2 (one set per process, however many services it runs).
struct Argon2Threads {
    jobs: Mutex<mpsc::Sender<Job>>,
    started: usize,
}

fn argon2_threads() -> &'static Argon2Threads {
    static THREADS: OnceLock<Argon2Threads> = OnceLock::new();
    THREADS.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for i in 0..default_verifiers() {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("firewatch-argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::warn!(error = %e, "cannot start an Argon2 thread"),
            }
        }
        Argon2Threads {
            jobs: Mutex::new(jobs),
            started,
        }
    })
}

/// Whether `password` matches `phc` (the decoy hash when `None`, made on first use), checked
/// on the Argon2 threads (on tokio's blocking pool if none could be started).
async fn verify_password(password: String, phc: Option<String>) -> bool {
    let threads = argon2_threads();
    if threads.started > 0 {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let phc = phc.as_deref().unwrap_or_else(|| decoy_password_hash());
            thread_local! {
                static MEMORY: std::cell::RefCell<Vec<argon2::Block>> =
                    const { std::cell::RefCell::new(Vec::new()) };
            }
            let ok = MEMORY.with(|memory| match memory.try_borrow_mut() {
                Ok(mut memory) => crate::auth::verify_password_in(&password, phc, &mut memory),
                Err(_) => crate::auth::verify_password(&password, phc),
            });
            let _ = done.send(ok);
        });
        let sent = threads.jobs.lock().is_ok_and(|jobs| jobs.send(job).is_ok());
        return sent && result.await.unwrap_or(false);
    }
    tokio::task::spawn_blocking(move || {
        let phc = phc.as_deref().unwrap_or_else(|| decoy_password_hash());
        crate::auth::verify_password(&password, phc)
    })
    .await
    .unwrap_or(false)
}

impl PasswordGate {
    /// A gate running at most `verifiers` Argon2 checks at once with `waiting` more queued.
    pub fn new(verifiers: usize, waiting: usize) -> Self {
        let verifiers = verifiers.max(1);
        PasswordGate {
            limiter: LoginLimiter::default(),
            verifiers,
            verifying: Semaphore::new(verifiers),
            admitted: Semaphore::new(verifiers + waiting),
            cache: Mutex::new(HashMap::new()),
            cache_key: rand::random(),
        }
    }

    /// Argon2 checks run at once at most.
    pub fn verifiers(&self) -> usize {
        self.verifiers
    }

    /// The user whose name and password these are, or why not.
    pub async fn check(
        &self,
        state: &Arc<AppState>,
        name: &str,
        password: &str,
        remember: Remember,
    ) -> Result<UserRecord, Refusal> {
        if name.is_empty() || name.len() > MAX_NAME || password.len() > MAX_PASSWORD {
            return Err(Refusal::Wrong);
        }
        let key = self.cache_key(name, password);
        if remember == Remember::Yes
            && let Some(user) = self.remembered(state, name, &key).await?
        {
            return Ok(user);
        }
        if let Some(retry_after) = self.limiter.retry_after(name) {
            return Err(Refusal::Locked { retry_after });
        }
        // Both permits are held until the check ends; dropping them admits the next one.
        let Ok(_admitted) = self.admitted.try_acquire() else {
            return Err(Refusal::Busy);
        };
        // The store lookup runs under the Argon2 permit too: queued checks hold no connection.
        let Ok(_verifying) = self.verifying.acquire().await else {
            return Err(Refusal::Busy);
        };
        let lookup = name.to_owned();
        let user = state
            .with_store(move |s| Ok(s.user(&lookup)?))
            .await
            .map_err(Refusal::Failed)?;
        // An unknown name or a user without a password costs the same Argon2 run.
        let phc = user.as_ref().and_then(|u| u.password_hash.clone());
        let ok = verify_password(password.to_owned(), phc).await;
        let Some(user) = user.filter(|u| ok && u.password_hash.is_some()) else {
            self.limiter.failed(name);
            return Err(Refusal::Wrong);
        };
        self.limiter.succeeded(name);
        if remember == Remember::Yes
            && let Some(phc) = &user.password_hash
        {
            self.remember(key, phc.clone());
        }
        Ok(user)
    }

    fn cache_key(&self, name: &str, password: &str) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.cache_key);
        // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(password.as_bytes());
        *h.finalize().as_bytes()
    }

    /// The user of a remembered credential, if it is still the user's password.
    async fn remembered(
        &self,
        state: &Arc<AppState>,
        name: &str,
        key: &[u8; 32],
    ) -> Result<Option<UserRecord>, Refusal> {
        let phc = {
            let Ok(mut cache) = self.cache.lock() else {
                return Ok(None);
            };
            match cache.get(key) {
                Some((phc, at)) if at.elapsed() < CACHE_TTL => phc.clone(),
                Some(_) => {
                    cache.remove(key);
                    return Ok(None);
                }
                None => return Ok(None),
            }
        };
        let lookup = name.to_owned();
        let user = state
            .with_store(move |s| Ok(s.user(&lookup)?))
            .await
            .map_err(Refusal::Failed)?;
        let still = user.filter(|u| u.password_hash.as_deref() == Some(phc.as_str()));
        if still.is_none()
            && let Ok(mut cache) = self.cache.lock()
        {
            cache.remove(key);
        }
        Ok(still)
    }

    fn remember(&self, key: [u8; 32], phc: String) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= CACHE_SIZE {
            cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        if cache.len() < CACHE_SIZE {
            cache.insert(key, (phc, Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_when_to_retry() {
        assert_eq!(Refusal::Busy.retry_after_secs(), Some(1));
        let locked = Refusal::Locked {
            retry_after: Duration::from_millis(10),
        };
        assert_eq!(locked.retry_after_secs(), Some(1));
        assert_eq!(Refusal::Wrong.retry_after_secs(), None);
    }

    #[test]
    fn cache_keys_separate_name_and_password() {
        let gate = PasswordGate::new(1, 1);
        assert_ne!(gate.cache_key("ab", "c"), gate.cache_key("a", "bc"));
        assert_eq!(gate.cache_key("a", "b"), gate.cache_key("a", "b"));
        assert_ne!(
            PasswordGate::new(1, 1).cache_key("a", "b"),
            gate.cache_key("a", "b")
        );
    }

    #[test]
    fn the_cache_stays_bounded() {
        let gate = PasswordGate::new(1, 1);
        for i in 0..CACHE_SIZE + 10 {
            gate.remember(gate.cache_key(&i.to_string(), "p"), "phc".into());
        }
        assert_eq!(gate.cache.lock().unwrap().len(), CACHE_SIZE);
    }
}
