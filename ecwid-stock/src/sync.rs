//! `sync FILE`: makes the store's stock match a warehouse file. Every row is checked first
//! (`targets`), the current stock read and a plan made (`client.plan_sync`), then, unless it
//! is a dry run, applied exactly once through the bulk path (`client.apply_sync`), saved to
//! `--plan PLAN` before anything is sent and at every checkpoint so that the same command run
//! again resumes it. PLAN is a plan log (`ecwid_inventory::bulk::PlanLog`): the plan written
//! once as the run starts, then each checkpoint's change appended, so saving costs what
//! changed, not the plan's size.

use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
};

use ecwid_inventory::{
    bulk::PlanLog,
    sync::{SyncOutcome, SyncPlan, SyncReport, SyncRow, SyncStatus, SyncTarget},
    Client, Error, StockChange,
};
use serde_json::{json, Value};

use crate::{
    args,
    exit::{Exit, Fail},
    items::describe,
    output::{count, id_columns, Output},
    progress,
    targets::{self, Target},
};

/// At most this many failed or unknown changes are listed in `--quiet`'s error.
const LISTED_FAILURES: usize = 50;

pub async fn run(
    client: &Client,
    args: &args::Sync,
    out: &Output,
    verbose: u8,
) -> Result<Exit, Fail> {
    let targets = targets::read_file(&args.file)?;
    let saved = match &args.plan {
        Some(path) => read_plan(path)?,
        None => None,
    };
    let (plan, log) = match saved {
        Some((plan, log)) => {
            same_sync(&plan, &targets, args)?;
            out.note(&format!(
                "Resuming the plan saved in {}: nothing in it is sent twice.",
                shown(args)
            ));
            (plan, Some(log))
        }
        None => {
            if let (Some(path), false) = (&args.plan, args.dry_run) {
                // An unwritable PLAN is bad input: found before the stock is read. Only the
                // file a save writes first is tried, so a crash here leaves no PLAN behind.
                let partial = partial_path(path);
                std::fs::write(&partial, b"{}").map_err(|error| {
                    Fail::bad_input(format!(
                        "cannot save the plan to {}: {error}",
                        path.display()
                    ))
                })?;
                std::fs::remove_file(&partial).ok();
            }
            let bar = progress::bar(out, verbose, "read");
            let shown = bar.clone();
            let plan = client
                .plan_sync(
                    // Moved, not copied: a row's SKU is held once, by its plan row.
                    targets
                        .into_iter()
                        .map(|target| SyncTarget::sku(target.sku, target.stock)),
                )
                .mode(args.mode.unwrap_or_default().into())
                .on_progress(move |p| {
                    shown.set_length(p.total as u64);
                    shown.set_position(p.completed as u64);
                })
                .send()
                .await;
            bar.finish_and_clear();
            (plan?, None)
        }
    };

    if args.dry_run {
        print_plan(out, &plan, None)?;
        note_left_alone(out, &plan);
        return Ok(Exit::Done);
    }
    if !out.json {
        print_plan(out, &plan, None)?;
    }
    note_left_alone(out, &plan);
    let report = apply(client, plan, log, args, out, verbose).await?;
    print_plan(out, report.plan(), Some(&report))?;
    finish(args, out, &report)
}

/// Applies `plan`, saving it to `--plan PLAN` at every checkpoint: whole at the first, before
/// anything is sent (so an unwritable PLAN stops the sync then), and then each change appended
/// to `log` (the one PLAN was read from, when resuming).
async fn apply(
    client: &Client,
    plan: SyncPlan,
    mut log: Option<PlanLog<SyncPlan>>,
    args: &args::Sync,
    out: &Output,
    verbose: u8,
) -> Result<SyncReport, Fail> {
    let bar = progress::bar(out, verbose, "changes done");
    let shown_bar = bar.clone();
    let mut save_failed = None;
    let mut call = client.apply_sync(plan).on_progress(move |p| {
        shown_bar.set_length(p.total as u64);
        shown_bar.set_position(p.completed as u64);
    });
    if let Some(path) = &args.plan {
        // A save that fails stops the run before anything more is sent: PLAN then holds the
        // last state saved, every batch sent so far under the keys it names, so the same
        // command resumes it without applying anything twice.
        let save_failed = &mut save_failed;
        call = call.on_checkpoint_async(move |checkpoint| {
            let saved = match &mut log {
                Some(log) => log.save(checkpoint),
                None => PlanLog::create(path, checkpoint.plan()).map(|created| {
                    log = Some(created);
                }),
            };
            let saved = saved.map_err(|error| {
                let error = format!("cannot save the plan to {}: {error}", path.display());
                save_failed.get_or_insert(error.clone());
                Error::Config(error)
            });
            std::future::ready(saved)
        });
    }
    let report = call.send().await;
    bar.finish_and_clear();
    match (report, save_failed) {
        (Err(_), Some(error)) => Err(Fail::failed(format!(
            "{error}; nothing more was sent: once {} can be written, the same command resumes \
             the sync from what it holds",
            shown(args)
        ))),
        (report, _) => Ok(report?),
    }
}

/// The saved plan at `path` (a plan log, or a plan saved whole as JSON by an earlier release)
/// and its log, or `None` when there is none yet.
fn read_plan(path: &Path) -> Result<Option<(SyncPlan, PlanLog<SyncPlan>)>, Fail> {
    let shown = path.display();
    match PlanLog::open(path) {
        Ok(read) => Ok(Some(read)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) if error.kind() == ErrorKind::InvalidData => Err(Fail::bad_input(format!(
            "{shown} is not a sync plan: {error}"
        ))),
        Err(error) => Err(Fail::bad_input(format!("cannot read {shown}: {error}"))),
    }
}

/// The file beside `path` a save writes first (as `PlanLog::create` does).
fn partial_path(path: &Path) -> PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}

/// A saved plan resumes only the sync it was made for: the same rows of the same FILE, in the
/// same mode. Anything else is bad input: the plan's changes are not the file's.
fn same_sync(plan: &SyncPlan, targets: &[Target], args: &args::Sync) -> Result<(), Fail> {
    let remove = format!(
        "remove {} to plan this sync anew, or give another --plan",
        shown(args)
    );
    // No --mode means delta, as for a new plan: a saved set-mode plan is not resumed by a
    // command that asks for deltas (its counts would overwrite the sales made since).
    let mode = args.mode.unwrap_or_default();
    if plan.mode() != mode.into() {
        return Err(Fail::bad_input(format!(
            "{} holds a sync in {:?} mode, not {mode:?}: {remove}",
            shown(args),
            plan.mode()
        )));
    }
    let rows = plan.rows();
    for (n, target) in targets.iter().enumerate() {
        let same = rows
            .get(n)
            .is_some_and(|row| row.sku == target.sku && row.target == target.stock);
        if !same {
            return Err(Fail::bad_input(format!(
                "{} holds another sync than {}: line {} ({} {}) is not in it: {remove}",
                shown(args),
                args.file.display(),
                target.line,
                target.sku,
                target.stock
            )));
        }
    }
    if rows.len() != targets.len() {
        return Err(Fail::bad_input(format!(
            "{} holds another sync than {}: it has {} and the file {}: {remove}",
            shown(args),
            args.file.display(),
            count(rows.len() as u64, "row"),
            count(targets.len() as u64, "row")
        )));
    }
    Ok(())
}

fn shown(args: &args::Sync) -> String {
    args.plan
        .as_ref()
        .map_or_else(String::new, |path| path.display().to_string())
}

/// The plan, with each row's outcome once applied: JSON lines then a totals line, or columns
/// then a totals line. Applied, only the rows that sent a change are shown in columns (the
/// plan was shown before).
fn print_plan(out: &Output, plan: &SyncPlan, report: Option<&SyncReport>) -> Result<(), Fail> {
    if out.quiet {
        return Ok(());
    }
    if out.json {
        let mut outcomes = report.map(SyncReport::outcomes);
        for row in plan.rows() {
            let mut line = serde_json::to_value(row)
                .map_err(|error| Fail::failed(format!("cannot write the output: {error}")))?;
            if let Some(done) = outcomes.as_mut().and_then(Iterator::next) {
                let (outcome, warning, error) = outcome(done);
                line["outcome"] = outcome.into();
                line["warning"] = warning.into();
                line["error"] = error.into();
            }
            out.json(&line)?;
        }
        out.json(&json!({ "totals": totals(plan, report) }))?;
        return Ok(());
    }
    match report {
        None => {
            out.table(
                &[
                    "SKU",
                    "PRODUCT",
                    "VARIATION",
                    "CURRENT",
                    "TARGET",
                    "CHANGE",
                    "STATUS",
                ],
                || plan.rows().iter().map(plan_row),
            )?;
        }
        Some(report) => {
            let rows = || {
                report
                    .iter()
                    .filter(|(row, _)| row.change.is_some())
                    .map(|(row, done)| {
                        let (outcome, warning, error) = outcome(done);
                        vec![
                            row.sku.clone(),
                            change_text(row.change),
                            outcome.to_owned(),
                            error.or(warning).unwrap_or_default(),
                        ]
                    })
            };
            if plan.changes() > 0 {
                println!();
                out.table(&["SKU", "CHANGE", "OUTCOME", "ERROR OR WARNING"], rows)?;
            }
        }
    }
    println!("{}", totals_text(plan, report));
    Ok(())
}

/// A plan's row in columns.
fn plan_row(row: &SyncRow) -> Vec<String> {
    let [product, variation] = row
        .item
        .map_or_else(|| ["-".to_owned(), String::new()], id_columns);
    vec![
        row.sku.clone(),
        product,
        variation,
        row.current
            .map_or_else(|| "-".to_owned(), |stock| stock.to_string()),
        row.target.to_string(),
        change_text(row.change),
        row.status.to_string(),
    ]
}

/// `+2`, `-3`, `set 12`, `set unlimited`, or `-` for none.
fn change_text(change: Option<StockChange>) -> String {
    match change {
        Some(StockChange::Delta(delta)) => format!("{delta:+}"),
        Some(StockChange::Set(stock)) => format!("set {stock}"),
        Some(other) => format!("{other:?}"),
        None => "-".to_owned(),
    }
}

/// A row's outcome as shown: `applied`, `failed`, `unknown` or `nothing-to-do`, with Ecwid's
/// warning, or the error (and for `unknown`, what to do).
fn outcome(outcome: &SyncOutcome) -> (&'static str, Option<String>, Option<String>) {
    match outcome {
        SyncOutcome::Applied { warning, .. } => ("applied", warning.clone(), None),
        SyncOutcome::Failed {
            status,
            error_code,
            error_message,
            ..
        } => {
            let message = error_message.as_deref().unwrap_or("no message");
            let error = match (status, error_code) {
                (Some(status), Some(code)) => format!("Ecwid answered {status} {code}: {message}"),
                (Some(status), None) => format!("Ecwid answered {status}: {message}"),
                (None, _) => message.to_owned(),
            };
            ("failed", None, Some(error))
        }
        SyncOutcome::Unknown { reason, .. } => ("unknown", None, Some(reason.clone())),
        SyncOutcome::NothingToDo => ("nothing-to-do", None, None),
        other => ("unknown", None, Some(format!("{other:?}"))),
    }
}

/// The counts of each status and, once applied, each outcome, and the requests spent.
fn totals(plan: &SyncPlan, report: Option<&SyncReport>) -> Value {
    let mut totals = json!({
        "rows": plan.rows().len(),
        "change": plan.count(SyncStatus::Change),
        "shared": plan.count(SyncStatus::Shared),
        "same": plan.count(SyncStatus::Same),
        "not_found": plan.count(SyncStatus::NotFound),
        "several": plan.count(SyncStatus::Several),
        "read_requests": plan.requests_sent(),
    });
    if let Some(report) = report {
        let summary = report.summary();
        totals["applied"] = summary.applied.into();
        totals["failed"] = summary.failed.into();
        totals["unknown"] = summary.unknown.into();
        totals["write_requests"] = report.requests_sent().into();
    }
    totals
}

/// The totals as a sentence.
fn totals_text(plan: &SyncPlan, report: Option<&SyncReport>) -> String {
    let mut text = format!(
        "{}: {} to change, {} the same, {} not found, {} on several items; read in {}",
        count(plan.rows().len() as u64, "row"),
        plan.changes(),
        plan.count(SyncStatus::Same),
        plan.count(SyncStatus::NotFound),
        plan.count(SyncStatus::Several),
        count(plan.requests_sent(), "request"),
    );
    if let Some(report) = report {
        let summary = report.summary();
        text.push_str(&format!(
            ". Applied {}, failed {}, unknown {}, in {}.",
            summary.applied,
            summary.failed,
            summary.unknown,
            count(report.requests_sent(), "request")
        ));
    } else {
        text.push('.');
    }
    text
}

/// Says on stderr which rows are left alone, and why.
fn note_left_alone(out: &Output, plan: &SyncPlan) {
    for row in plan.rows() {
        match row.status {
            SyncStatus::NotFound => out.note(&format!(
                "{:?}: no product or variation has this SKU; left alone.",
                row.sku
            )),
            SyncStatus::Several => out.note(&format!(
                "{:?}: on {} items ({}); left alone.",
                row.sku,
                row.matches.len(),
                row.matches
                    .iter()
                    .map(|item| describe(*item))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => {}
        }
    }
}

/// Exit 0 when every change was applied (or none was needed): PLAN is then removed, as there
/// is nothing left to resume. Otherwise exit 1, PLAN kept for a run that learns what is
/// unknown.
fn finish(args: &args::Sync, out: &Output, report: &SyncReport) -> Result<Exit, Fail> {
    if report.is_complete() {
        if let Some(path) = &args.plan {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::NotFound => {}
                Err(error) => out.note(&format!("cannot remove {}: {error}", path.display())),
            }
        }
        return Ok(Exit::Done);
    }
    let summary = report.summary();
    let mut message = format!(
        "{} failed and {} unknown",
        count(summary.failed as u64, "change"),
        summary.unknown
    );
    if let Some(path) = &args.plan {
        message.push_str(&format!(
            "; {} is kept: the same command resumes it, sending nothing twice (each row says \
             whether that can still learn its outcome); remove it to plan the sync anew",
            path.display()
        ));
    }
    if out.quiet {
        // The report was not printed: the error lists what did not go through.
        let troubled: Vec<String> = report
            .iter()
            .filter_map(|(row, done)| match outcome(done) {
                (kind @ ("failed" | "unknown"), _, Some(error)) => {
                    Some(format!("{} {kind}: {error}", row.sku))
                }
                _ => None,
            })
            .collect();
        for line in troubled.iter().take(LISTED_FAILURES) {
            message.push_str("\n  ");
            message.push_str(line);
        }
        if troubled.len() > LISTED_FAILURES {
            message.push_str(&format!(
                "\n  and {} more",
                troubled.len() - LISTED_FAILURES
            ));
        }
    }
    Err(Fail::failed(message))
}
