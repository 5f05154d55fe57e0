//! Generators of what the engine states or drivers find beside a release's runs: batch news,
//! what ships.

use proptest::prelude::*;

use super::target;
use crate::engine::EventKind;

/// What the engine states for the record about batches: any of it, in any order.
pub(super) fn batch_news() -> impl Strategy<Value = EventKind> {
    let phase = || prop::sample::select(vec!["Deploy", "x"]).prop_map(str::to_string);
    let verdict = prop::sample::select(vec![
        crate::engine::BatchVerdict::Healthy,
        crate::engine::BatchVerdict::InDoubt,
        crate::engine::BatchVerdict::Breached,
    ]);
    prop_oneof![
        (
            phase(),
            0u32..4,
            0u32..4,
            prop::collection::vec(target(), 0..3)
        )
            .prop_map(|(phase, batch, of, hosts)| EventKind::BatchStarted {
                phase,
                batch,
                of,
                hosts
            }),
        (phase(), 0u32..4, 0u32..4, verdict, 0usize..4).prop_map(
            |(phase, batch, of, verdict, rule)| EventKind::BatchJudged {
                phase,
                batch,
                of,
                verdict,
                figures: vec![crate::engine::BatchFigure {
                    rule,
                    hosts: vec![("a".into(), 1.0)],
                    control: None,
                    stand: "ok".into(),
                }],
            }
        ),
        (phase(), 0u32..4, 0u32..4, target()).prop_map(|(phase, batch, of, by)| {
            EventKind::BatchPromoted {
                phase,
                batch,
                of,
                by,
            }
        }),
    ]
}

/// What was found of what ships: versions (some agreeing), change and pending lists.
pub(super) fn ships_found() -> impl Strategy<Value = EventKind> {
    let found = (
        prop::collection::vec("[a-z0-9 ]{0,6}", 0..3),
        prop::option::of("[a-z]{0,4}"),
    )
        .prop_map(|(lines, error)| crate::engine::ships::Found {
            total: lines.len(),
            lines,
            error,
        });
    let version = prop::option::of(prop::sample::select(vec!["v1", "v2", " ", ""]));
    prop_oneof![
        (target(), version, prop::option::of("[a-z]{0,3}")).prop_map(|(target, v, error)| {
            EventKind::VersionFound {
                target,
                version: v.map(str::to_string),
                error,
            }
        }),
        found
            .clone()
            .prop_map(|found| EventKind::ChangesFound { found }),
        (target(), found).prop_map(|(target, found)| EventKind::PendingFound { target, found }),
        prop::collection::vec("[a-z ]{0,6}", 0..2).prop_map(|why| EventKind::Refused { why }),
    ]
}
