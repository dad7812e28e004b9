//! Taking in another instance's timeline of a case we hold: what it has that ours has not is
//! appended, in its order, each entry checked by the same rules as a change made here.

use crate::case::{Case, Entry, Stamp};

/// What [`Case::absorb`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Absorbed {
    /// Entries appended to the timeline.
    pub appended: usize,
    /// Entries the case already held (the same change, at the same times, by the same actor).
    pub already_held: usize,
    /// Entries the rules refused as the case stands (a status it already passed, say), with
    /// their number in the other timeline and why.
    pub refused: Vec<(u64, String)>,
}

impl Case {
    /// Appends the entries of `other` (another instance's timeline of this case) that this
    /// one does not hold, in their order, each through [`Case::apply`]; an entry the rules
    /// refuse is skipped and reported. A second call with the same entries appends nothing.
    pub fn absorb(&mut self, other: &[Entry]) -> Absorbed {
        let mut done = Absorbed::default();
        for entry in other {
            let held = self.timeline.iter().any(|mine| {
                mine.at == entry.at
                    && mine.recorded_at == entry.recorded_at
                    && mine.actor == entry.actor
                    && mine.change == entry.change
            });
            if held {
                done.already_held += 1;
                continue;
            }
            let stamp = Stamp::late(entry.at, entry.recorded_at, entry.actor.clone());
            match self.apply(entry.change.clone(), &stamp) {
                Ok(_) => done.appended += 1,
                Err(e) => done.refused.push((entry.seq, e.to_string())),
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use crate::case::tests::{case, t};
    use crate::vocab::{Determination, PartyStatus};

    #[test]
    fn takes_in_what_it_lacks_once_and_refuses_what_the_rules_forbid() {
        let ours = case();
        let mut theirs = ours.clone();
        theirs
            .set_party_status("jp", PartyStatus::Acknowledged, &t(60))
            .unwrap();
        theirs.comment("cleaning", &t(70)).unwrap();
        let mut merged = ours.clone();
        let first = merged.absorb(&theirs.timeline);
        assert_eq!(first.appended, theirs.timeline.len() - ours.timeline.len());
        assert_eq!(first.already_held, ours.timeline.len());
        assert!(first.refused.is_empty(), "{:?}", first.refused);
        assert_eq!(merged.timeline, theirs.timeline);
        assert_eq!(
            merged.party("jp").unwrap().status,
            PartyStatus::Acknowledged
        );
        let again = merged.absorb(&theirs.timeline);
        assert_eq!(again.appended, 0, "a second time adds nothing");

        // Ours moved on: closed. Their later status for jp is a change a closed case refuses.
        merged
            .close(Some(Determination::Confirmed), None, &t(80))
            .unwrap();
        theirs
            .set_party_status("jp", PartyStatus::Done, &t(90))
            .unwrap();
        let late = merged.absorb(&theirs.timeline);
        assert_eq!(late.appended, 0);
        assert_eq!(late.refused.len(), 1, "{late:?}");
    }
}
