//! The EtherNet/IP + CIP scenario of `fixtures-pcap` (cpppo simulator, cpppo and pycomm3
//! clients, ground truth recorded by the clients) reproduced exactly: every write with its
//! frame, service, target, value, outcome, credential, identity, attribution and delegation
//! status, and the Forward Open originators as credentials.

mod support;

use analytics::evidence::{CredentialKind, Protocol, WriteRow};
use support::fixture::{analyse, truth};
use support::truth::text;

#[test]
fn enip_basic_reproduces_its_ground_truth() {
    let name = "enip-basic";
    let truth = truth(name);
    let evidence = analyse(name);
    let expected = support::truth::readable_writes(&truth, "enip");
    let ours: Vec<&WriteRow> = evidence
        .writes
        .iter()
        .filter(|w| w.protocol == Protocol::Enip)
        .collect();
    assert_eq!(ours.len(), 16);
    support::truth::assert_writes("enip-basic", &ours, &expected);

    // One credentials row per Forward Open, at its frame, with its originator.
    let ours: Vec<(u64, String)> = evidence
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::CipOriginator)
        .map(|c| (c.at.frame, c.id.clone()))
        .collect();
    let theirs: Vec<(u64, String)> = truth["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "cip_originator")
        .map(|c| (c["frame"].as_u64().unwrap(), text(&c["id"]).unwrap()))
        .collect();
    assert_eq!(ours, theirs, "cip_originator credentials");
}
