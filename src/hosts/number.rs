//! Stable host numbers. A host keeps the number in its `Number` tag while it exists; a host
//! without one takes the lowest number free in its group. No local state: two runs that see the
//! same instances compute the same numbers, because the untagged hosts are taken in launch
//! order (then instance id), and a number claimed twice stays with the earlier host.

use crate::aws::ec2::Instance;
use std::collections::{BTreeMap, BTreeSet};

/// The tag that holds a host's number in its group.
pub const TAG: &str = "Number";

/// The number in an instance's `Number` tag, when it holds one.
pub fn tagged(i: &Instance) -> Option<u32> {
    let v = i.tags.get(TAG)?;
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 6 {
        return None;
    }
    v.parse().ok()
}

/// One group's instances → each instance id's number, and the tags to write
/// (instance id, number) for those whose tag is missing, malformed or a duplicate.
pub fn assign(group: &[Instance]) -> (BTreeMap<String, u32>, Vec<(String, u32)>) {
    let mut order: Vec<&Instance> = group.iter().collect();
    order.sort_by(|a, b| (a.launch_time, &a.id).cmp(&(b.launch_time, &b.id)));
    let mut numbers = BTreeMap::new();
    let mut taken = BTreeSet::new();
    let mut pending = Vec::new();
    for i in order {
        match tagged(i) {
            Some(n) if taken.insert(n) => {
                numbers.insert(i.id.clone(), n);
            }
            _ => pending.push(i),
        }
    }
    let mut writes = Vec::new();
    let mut next = 0;
    for i in pending {
        while taken.contains(&next) {
            next += 1;
        }
        taken.insert(next);
        numbers.insert(i.id.clone(), next);
        writes.push((i.id.clone(), next));
    }
    (numbers, writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn inst(id: &str, minute: u32, number: Option<&str>) -> Instance {
        Instance {
            id: id.into(),
            state: "running".into(),
            private_ip: None,
            public_ip: None,
            private_dns: None,
            public_dns: None,
            launch_time: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 1, 1, 0, minute, 0)
                    .unwrap(),
            ),
            image_id: None,
            instance_type: None,
            availability_zone: None,
            tags: number
                .map(|n| [(TAG.to_owned(), n.to_owned())].into())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn untagged_hosts_take_the_lowest_free_numbers_in_launch_order() {
        let (numbers, writes) = assign(&[
            inst("i-c", 3, None),
            inst("i-a", 1, Some("1")),
            inst("i-b", 2, None),
            inst("i-d", 4, Some("3")),
        ]);
        assert_eq!(numbers["i-a"], 1);
        assert_eq!(numbers["i-d"], 3);
        assert_eq!(numbers["i-b"], 0);
        assert_eq!(numbers["i-c"], 2);
        assert_eq!(writes, [("i-b".to_owned(), 0), ("i-c".to_owned(), 2)]);
    }

    #[test]
    fn tagged_numbers_never_move_and_a_gap_stays_a_gap() {
        // Host 0 was terminated: 1 and 2 keep their numbers, nothing is written.
        let (numbers, writes) = assign(&[inst("i-b", 2, Some("2")), inst("i-a", 1, Some("1"))]);
        assert_eq!((numbers["i-a"], numbers["i-b"]), (1, 2));
        assert!(writes.is_empty());
        // A new host fills the gap.
        let (numbers, writes) = assign(&[
            inst("i-b", 2, Some("2")),
            inst("i-a", 1, Some("1")),
            inst("i-n", 9, None),
        ]);
        assert_eq!(numbers["i-n"], 0);
        assert_eq!(writes, [("i-n".to_owned(), 0)]);
    }

    #[test]
    fn a_duplicate_or_malformed_number_is_reassigned_to_the_later_host() {
        let (numbers, writes) = assign(&[
            inst("i-late", 5, Some("0")),
            inst("i-early", 1, Some("0")),
            inst("i-bad", 2, Some("x1")),
            inst("i-neg", 3, Some("-1")),
        ]);
        assert_eq!(numbers["i-early"], 0);
        assert_eq!(
            writes,
            [
                ("i-bad".to_owned(), 1),
                ("i-neg".to_owned(), 2),
                ("i-late".to_owned(), 3)
            ]
        );
    }

    #[test]
    fn two_runs_with_the_same_view_agree() {
        let view = [
            inst("i-2", 2, None),
            inst("i-1", 2, None),
            inst("i-0", 1, None),
        ];
        let mut reversed = view.clone();
        reversed.reverse();
        assert_eq!(assign(&view), assign(&reversed));
        assert_eq!(assign(&view).0["i-1"], 1);
    }
}
