//! The status resources of TAXII adds, kept in memory for `GET …/status/{id}/` under a count and
//! a byte budget: a status names every object of its envelope, so keeping thousands of them in
//! full would hold gigabytes. A status too large to keep whole is kept as its counts and first
//! failures; the answer to the add itself is always whole.

use serde_json::{Value as Json, json};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Status resources kept at most.
pub const STATUSES_KEPT: usize = 10_000;
/// Bytes of kept statuses at most (serialised).
pub const STATUS_BYTES_KEPT: usize = 64 * 1024 * 1024;
/// A status larger than this is kept without its per-object successes.
pub const WHOLE_STATUS_BYTES: usize = 1024 * 1024;
/// Failures kept of a status too large to keep whole.
pub const FAILURES_KEPT: usize = 1_000;

/// One kept status: its id, the user who added, and the serialised resource.
struct Kept {
    id: String,
    owner: String,
    body: Box<[u8]>,
}

/// The kept statuses, oldest first.
#[derive(Default)]
pub struct KeptStatuses {
    inner: Mutex<(VecDeque<Kept>, usize)>,
}

impl KeptStatuses {
    /// Keeps `status` (a TAXII status resource with an `id`) for `owner`, dropping the oldest
    /// while over budget.
    pub fn keep(&self, owner: &str, status: &Json) {
        let Some(id) = status["id"].as_str() else {
            return;
        };
        let Some(body) = compact(status) else {
            return;
        };
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let (kept, bytes) = &mut *guard;
        *bytes += body.len();
        kept.push_back(Kept {
            id: id.to_owned(),
            owner: owner.to_owned(),
            body,
        });
        while kept.len() > STATUSES_KEPT || *bytes > STATUS_BYTES_KEPT {
            match kept.pop_front() {
                Some(old) => *bytes -= old.body.len(),
                None => break,
            }
        }
    }

    /// The status `id`, if `owner` added it and it is still kept.
    pub fn get(&self, owner: &str, id: &str) -> Option<Json> {
        let guard = self.inner.lock().ok()?;
        let kept = guard
            .0
            .iter()
            .rev()
            .find(|k| k.owner == owner && k.id == id)?;
        serde_json::from_slice(&kept.body).ok()
    }

    /// Bytes held by the kept statuses.
    pub fn bytes(&self) -> usize {
        self.inner.lock().map_or(0, |g| g.1)
    }
}

/// The serialised status, whole if small enough, else its counts and first failures.
fn compact(status: &Json) -> Option<Box<[u8]>> {
    let whole = serde_json::to_vec(status).ok()?;
    if whole.len() <= WHOLE_STATUS_BYTES {
        return Some(whole.into_boxed_slice());
    }
    let mut short = status.clone();
    short["successes"] = json!([]);
    if let Some(failures) = short["failures"].as_array_mut() {
        failures.truncate(FAILURES_KEPT);
    }
    short["pendings"] = json!([]);
    serde_json::to_vec(&short).ok().map(Vec::into_boxed_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: &str, objects: usize) -> Json {
        let successes: Vec<Json> = (0..objects)
            .map(|i| json!({"id": format!("indicator--{i:036}"), "message": "event"}))
            .collect();
        json!({"id": id, "status": "complete", "success_count": objects, "successes": successes,
               "failures": [], "failure_count": 0})
    }

    #[test]
    fn statuses_are_per_owner_and_large_ones_kept_short() {
        let kept = KeptStatuses::default();
        kept.keep("ana", &status("s1", 2));
        assert_eq!(
            kept.get("ana", "s1").unwrap()["successes"][1]["message"],
            "event"
        );
        assert!(kept.get("bo", "s1").is_none());
        kept.keep("ana", &status("big", 20_000));
        let big = kept.get("ana", "big").unwrap();
        assert_eq!(big["success_count"], 20_000);
        assert_eq!(big["successes"], json!([]));
        assert!(kept.bytes() < WHOLE_STATUS_BYTES);
    }

    #[test]
    fn the_byte_budget_drops_the_oldest() {
        let kept = KeptStatuses::default();
        // Each about 0.9 MiB, kept whole: the budget holds about 70.
        for i in 0..100 {
            kept.keep("ana", &status(&format!("s{i}"), 12_000));
        }
        assert!(kept.bytes() <= STATUS_BYTES_KEPT);
        assert!(kept.get("ana", "s0").is_none());
        assert!(kept.get("ana", "s99").is_some());
    }
}
