//! A bulk plan saved as a log: the plan once, then each checkpoint's change appended. Reading
//! it folds the changes back in; a record torn by a crash is ignored, a damaged one before the
//! last refused; a plan saved whole as JSON is still read.

use std::io::ErrorKind;
use std::path::PathBuf;

use ecwid_inventory::bulk::BulkPlan;
use ecwid_inventory::bulk::{PlanChange, PlanLog, PLAN_LOG_FORMAT_VERSION};

use crate::common::*;

/// A file of its own in the system's temporary folder, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ecwid-plan-log-{}-{name}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut partial = self.0.clone().into_os_string();
        partial.push(".partial");
        let _ = std::fs::remove_file(partial);
    }
}

/// A run of 300 items in 3 chunks against the fake, saved to a log at `path`: returns each
/// checkpoint's plan and the file's bytes just after it was saved.
async fn logged_run(
    path: &std::path::Path,
) -> (Vec<(BulkPlan, Vec<u8>)>, ecwid_inventory_fake::FakeStore) {
    let fake = numbered(300).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_bulk(one_per_variation(300), 100).unwrap();
    let mut log = PlanLog::create(path, &plan).unwrap();
    let mut steps = Vec::new();
    let report = client
        .resume_bulk(plan)
        .poll_interval(ms(5), ms(50))
        .on_checkpoint(|checkpoint| {
            log.save(checkpoint).unwrap();
            steps.push((checkpoint.plan().clone(), std::fs::read(path).unwrap()));
        })
        .send()
        .await
        .unwrap();
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    (steps, fake)
}

#[tokio::test]
async fn the_log_read_back_is_the_plan_after_every_checkpoint() {
    let file = TempFile::new("fold");
    let (steps, fake) = logged_run(&file.0).await;
    // Started, then per chunk: creating, created, done.
    assert_eq!(steps.len(), 1 + 3 * 3);
    let whole = serde_json::to_vec(&steps[0].0).unwrap().len();
    for (n, (plan, bytes)) in steps.iter().enumerate() {
        let copy = TempFile::new("fold-copy");
        std::fs::write(&copy.0, bytes).unwrap();
        let (read, _) = PlanLog::<BulkPlan>::open(&copy.0).unwrap();
        assert_eq!(&read, plan, "checkpoint {n}");
        if n > 0 {
            // What a checkpoint appends is what changed: a chunk's state, not the plan.
            let appended = bytes.len() - steps[n - 1].1.len();
            assert!(
                appended < whole / 3,
                "checkpoint {n}: {appended} of {whole}"
            );
        }
    }
    // A state record (creating, created) is a few dozen bytes, whatever the plan's size.
    let created = steps[2].1.len() - steps[1].1.len();
    assert!(created < 200, "{created}");
    assert_ledger_once(&fake, 300);
}

/// A crash while a record is written leaves any prefix of it: reading ignores it, whatever
/// byte it stopped at, and the plan is the one before it. Resuming that plan applies nothing
/// twice, and the next append cuts the torn bytes away.
#[tokio::test]
async fn a_torn_last_record_is_ignored_at_every_byte_and_resuming_applies_nothing_twice() {
    let file = TempFile::new("torn");
    let (steps, fake) = logged_run(&file.0).await;
    // The record that says chunk 1 is queued, torn.
    let created = |plan: &BulkPlan| {
        serde_json::to_value(plan).unwrap()["chunks"][1]["state"]["state"] == "created"
    };
    let at = steps.iter().position(|(plan, _)| created(plan)).unwrap();
    let (before, whole) = (&steps[at - 1], &steps[at].1);
    assert!(whole.starts_with(&before.1));
    let client = client(&fake);
    for cut in before.1.len()..whole.len() {
        let torn = TempFile::new("torn-copy");
        std::fs::write(&torn.0, &whole[..cut]).unwrap();
        let (plan, mut log) = PlanLog::<BulkPlan>::open(&torn.0)
            .unwrap_or_else(|error| panic!("cut at {cut}: {error}"));
        assert_eq!(plan, before.0, "cut at {cut}");
        // The next append starts where the good records end.
        log.append(&PlanChange::Started).unwrap();
        let appended = std::fs::read(&torn.0).unwrap();
        assert!(appended.starts_with(&before.1), "cut at {cut}");
        assert_eq!(PlanLog::<BulkPlan>::open(&torn.0).unwrap().0, before.0);
        if cut == before.1.len() || cut + 1 == whole.len() {
            // Chunk 1 as being created: its create is sent again under its key, which the
            // fake answers with the first ticket.
            let report = client
                .resume_bulk(plan)
                .poll_interval(ms(5), ms(50))
                .send()
                .await
                .unwrap();
            assert!(all_updated(report.outcomes()), "{:?}", report.summary());
        }
    }
    fake.batches_settled().await;
    assert_ledger_once(&fake, 300);
}

#[tokio::test]
async fn a_damaged_record_with_records_after_it_is_refused() {
    let file = TempFile::new("damaged");
    let (steps, _fake) = logged_run(&file.0).await;
    let (_, last) = steps.last().unwrap();
    let (_, middle) = &steps[steps.len() / 2];
    // A byte of a record's payload before the last, flipped.
    let mut damaged = last.clone();
    damaged[middle.len() - 3] ^= 0x01;
    let copy = TempFile::new("damaged-copy");
    std::fs::write(&copy.0, &damaged).unwrap();
    let error = PlanLog::<BulkPlan>::open(&copy.0).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert!(
        error
            .to_string()
            .contains("is corrupt, with records after it"),
        "{error}"
    );
    // The plan's own record damaged: no plan at all.
    let mut damaged = last.clone();
    damaged[60] ^= 0x01;
    std::fs::write(&copy.0, &damaged).unwrap();
    let error = PlanLog::<BulkPlan>::open(&copy.0).unwrap_err();
    assert!(
        error.to_string().contains("its plan record is bad"),
        "{error}"
    );
}

#[tokio::test]
async fn a_plan_saved_whole_as_json_is_read_and_saved_again_as_a_log() {
    let fake = numbered(300).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_bulk(one_per_variation(300), 100).unwrap();
    let file = TempFile::new("json");
    std::fs::write(&file.0, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    let (read, mut log) = PlanLog::<BulkPlan>::open(&file.0).unwrap();
    assert_eq!(read, plan);
    // A change cannot go after a whole JSON plan; a run's first checkpoint rewrites it.
    let error = log.append(&PlanChange::Started).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let report = client
        .resume_bulk(read)
        .poll_interval(ms(5), ms(50))
        .on_checkpoint(|checkpoint| log.save(checkpoint).unwrap())
        .send()
        .await
        .unwrap();
    let text = std::fs::read(&file.0).unwrap();
    assert!(text.starts_with(
        format!("ecwid-inventory plan log {PLAN_LOG_FORMAT_VERSION} bulk\n").as_bytes()
    ));
    assert_eq!(
        PlanLog::<BulkPlan>::open(&file.0).unwrap().0,
        *report.plan()
    );
    assert_ledger_once(&fake, 300);

    // Another version of the log, or a log of another kind of plan, is refused by name.
    let newer =
        String::from_utf8(text.clone())
            .unwrap()
            .replacen("plan log 1 bulk", "plan log 2 bulk", 1);
    std::fs::write(&file.0, newer).unwrap();
    let error = PlanLog::<BulkPlan>::open(&file.0).unwrap_err().to_string();
    assert!(
        error.contains("a plan log of format version 2")
            && error.contains("reads plan logs of version 1"),
        "{error}"
    );
    let sync = String::from_utf8(text)
        .unwrap()
        .replacen("plan log 1 bulk", "plan log 1 sync", 1);
    std::fs::write(&file.0, sync).unwrap();
    let error = PlanLog::<BulkPlan>::open(&file.0).unwrap_err().to_string();
    assert!(
        error.contains("of a sync plan, not of a bulk plan"),
        "{error}"
    );
}
