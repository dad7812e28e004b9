//! What a team may see of a case: the TLP and party rule.
//!
//! A team sees a case when it is a party, or when the case's TLP lets it read under core's
//! one rule ([`firewatch_core::access::team_may_read`]: the coordinator as the owner, the
//! parties as the named recipients), the same rule the store's listing query applies. Of a
//! case it sees, the coordinator sees everything; any other team sees the header, the parties
//! and their status, the comments, what belongs to the whole case, and its own slice only:
//! its tasks, the findings and observables linked for it. Timeline entries about another
//! party's slice are left out, so no other team's addresses reach it.

use firewatch_core::access::team_may_read;

use crate::case::Case;

impl Case {
    /// Whether `team` may see this case at all.
    pub fn visible_to(&self, team: &str) -> bool {
        let parties: Vec<&str> = self.parties.iter().map(|p| p.team.as_str()).collect();
        parties.contains(&team)
            || team_may_read(
                Some(team),
                Some(self.tlp),
                Some(&self.coordinator),
                None,
                &parties,
            )
    }

    /// The case as `team` may see it; `None` when it may not see it at all.
    pub fn view_for(&self, team: &str) -> Option<Case> {
        if !self.visible_to(team) {
            return None;
        }
        if team == self.coordinator {
            return Some(self.clone());
        }
        let mine = |slice: Option<&str>| slice.is_none_or(|t| t == team);
        let mut view = self.clone();
        view.timeline = self
            .timeline
            .iter()
            .filter(|e| mine(e.change.slice_team(self)))
            .cloned()
            .collect();
        view.tasks.retain(|t| t.team == team);
        view.links.retain(|l| mine(l.team.as_deref()));
        view.observables.retain(|o| mine(o.team.as_deref()));
        Some(view)
    }
}

#[cfg(test)]
mod tests {
    use crate::case::tests::{case, t};
    use crate::vocab::Role;
    use firewatch_core::TlpLevel;

    #[test]
    fn a_party_sees_its_own_slice_and_the_coordinator_all() {
        let mut c = case();
        c.add_task("ke", "block 198.51.100.2", None, &t(1)).unwrap();
        let jp = c.view_for("jp").unwrap();
        let text = serde_json::to_string(&jp).unwrap();
        assert!(text.contains("192.0.2.1"));
        assert!(!text.contains("198.51.100.2"), "{text}");
        assert!(jp.tasks.is_empty());
        assert_eq!(jp.parties.len(), 3, "parties see each other");
        let all = serde_json::to_string(&c.view_for("coord").unwrap()).unwrap();
        assert!(all.contains("198.51.100.2") && all.contains("192.0.2.1"));
    }

    #[test]
    fn outsiders_see_by_tlp_only_what_belongs_to_the_whole_case() {
        let mut c = case();
        for level in TlpLevel::ALL {
            c.tlp = level;
            let seen = c.view_for("outsider");
            assert_eq!(seen.is_some(), level <= TlpLevel::Green, "{level}");
            if let Some(v) = seen {
                assert!(v.observables.is_empty());
                assert_eq!(v.links.len(), 1, "the alert, linked for the whole case");
            }
            assert!(
                c.view_for("jp").is_some(),
                "a party sees its case at {level}"
            );
        }
        c.add_party("obs", Role::Observer, &t(1)).unwrap();
        assert!(c.view_for("obs").unwrap().observables.is_empty());
    }
}
