//! Planning a sync: [`Client::plan_sync`] checks the targets, reads their stock and makes a row
//! for each.

use super::change::{planned_change, SyncMode};
use super::plan::{SyncPlan, SYNC_PLAN_FORMAT_VERSION};
use super::read::{find_targets, Reading};
use super::row::{first_shared_stock, SyncRow, SyncStatus};
use super::target::SyncTarget;
use crate::{
    options::request_builder,
    polling::{polling_options, Polling, ProgressFn},
    time::unix_ms,
    Client, Error, RequestOptions, StockItem,
};

impl Client {
    /// Plans making the store's stock match `targets`: reads the current stock of every
    /// target, and makes one [`SyncRow`] per target with its current stock, the change that
    /// would be sent and a [`SyncStatus`]. Sends no write: show the plan for a dry run, or
    /// apply it with [`apply_sync`](Client::apply_sync).
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client) -> Result<(), ecwid_inventory::Error> {
    /// use ecwid_inventory::{Stock, sync::SyncStatus};
    ///
    /// let plan = client
    ///     .plan_sync([("TEE-S", Stock::Quantity(12)), ("GIFT", Stock::Unlimited)])
    ///     .await?;
    /// for row in plan.rows() {
    ///     println!("{}", serde_json::to_string(row).unwrap());
    /// }
    /// if plan.count(SyncStatus::NotFound) == 0 {
    ///     let report = client.apply_sync(plan).await?;
    ///     println!("{:?}, {} requests", report.summary(), report.requests_sent());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// **Reading** costs a few rate-limited requests, never one per target. Up to 500 targets
    /// are looked up directly: their SKUs through [`find_skus`](Client::find_skus), the
    /// products of targets given by item through a batch of product reads. For more, one
    /// search learns the catalog's size, and when the catalog has fewer pages of 100 products
    /// than there are lookups, the whole catalog is read instead (as
    /// [`catalog_stock`](Client::catalog_stock) reads it), and the targets are found in it:
    /// 10,000 SKUs in a 10,000-product catalog take some 6 requests.
    ///
    /// **Matching**: a SKU matches exactly, as [`find_sku`](Client::find_sku): a product's
    /// own SKU or a variation's own, never a variation's inherited one. Several items with one
    /// SKU are [`SyncStatus::Several`] and left alone. A target given by item that is a
    /// variation sharing its product's stock is changed through the product
    /// ([`SyncStatus::Shared`]).
    ///
    /// **Changes**: in the default [`SyncMode::Delta`], `target - current` as a delta; a
    /// target of unlimited stock, an item whose stock is unlimited (a delta cannot reach
    /// either), or a difference beyond 32 bits is planned as a set, which the row shows. With
    /// [`mode(SyncMode::Set)`](PlanSync::mode), absolute counts, which overwrite a sale made
    /// between the read and the write.
    ///
    /// **Bad input fails before anything is sent**, with [`Error::InvalidInput`] naming the
    /// target: an empty SKU or one with whitespace around it, a SKU or an item given twice, a
    /// count below zero or over [`MAX_QUANTITY`](crate::stock::MAX_QUANTITY), a zero id. Two targets
    /// found to move the same stock (a product and its variation sharing its stock, say, even
    /// when one of them is at its target) fail the same way once read, having sent no write.
    pub fn plan_sync<T: Into<SyncTarget>>(
        &self,
        targets: impl IntoIterator<Item = T>,
    ) -> PlanSync<'_> {
        PlanSync {
            client: self,
            targets: targets.into_iter().map(Into::into).collect(),
            mode: SyncMode::default(),
            polling: Polling::default(),
            on_progress: None,
            options: RequestOptions::default(),
        }
    }
}

/// A sync's plan to make; made by [`Client::plan_sync`]. Send it with `.await` or
/// [`send`](Self::send).
#[must_use = "nothing is sent until it is awaited"]
pub struct PlanSync<'a> {
    client: &'a Client,
    targets: Vec<SyncTarget>,
    mode: SyncMode,
    polling: Polling,
    on_progress: Option<ProgressFn<'a>>,
    options: RequestOptions,
}

request_builder!(PlanSync, SyncPlan);

polling_options!(
    PlanSync,
    /// For a batch of product reads, or of the catalog's pages: past it (by default
    /// [`Polling::DEFAULT_TIMEOUT`], 10 minutes), the plan fails, having sent no write. SKU
    /// lookups poll as [`find_skus`](crate::Client::find_skus) does.
    poll_timeout,
    /// When the whole catalog is read, `completed` counts its products read of its `total`;
    /// otherwise it is called once the lookups are done, with the targets looked up.
    on_progress,
);

impl std::fmt::Debug for PlanSync<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanSync")
            .field("client", self.client)
            .field("targets", &self.targets.len())
            .field("mode", &self.mode)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a> PlanSync<'a> {
    /// How the changes will be sent (default [`SyncMode::Delta`]); the plan's rows show the
    /// changes of this mode, and applying sends exactly those.
    pub fn mode(mut self, mode: SyncMode) -> Self {
        self.mode = mode;
        self
    }

    /// Reads the stock and makes the plan (see [`Client::plan_sync`]).
    pub async fn send(self) -> Result<SyncPlan, Error> {
        let Self {
            client,
            targets,
            mode,
            polling,
            mut on_progress,
            options,
        } = self;
        options.check()?;
        polling.check().map_err(Error::InvalidInput)?;
        let mut reading = Reading::new(targets)?;
        let before = client.requests_sent();
        let read_at = client.now();
        find_targets(client, &mut reading, polling, options, &mut on_progress).await?;
        let rows = make_rows(reading, mode)?;
        Ok(SyncPlan {
            version: SYNC_PLAN_FORMAT_VERSION,
            store_id: client.store_id(),
            mode,
            read_unix_ms: unix_ms(read_at),
            read_requests: client.requests_sent().saturating_sub(before),
            rows,
            bulk: None,
        })
    }
}

/// The rows as read, each with its change in `mode` and its status; refused when two targets
/// move one stock.
fn make_rows(reading: Reading, mode: SyncMode) -> Result<Vec<SyncRow>, Error> {
    let (mut rows, shares) = reading.into_rows();
    for (row, &shares) in rows.iter_mut().zip(&shares) {
        // Read with one item: its change decides its status.
        if let (SyncStatus::Change, Some(current)) = (row.status, row.current) {
            row.change = planned_change(current, row.target, mode);
            row.status = match (row.change, shares) {
                (None, _) => SyncStatus::Same,
                (Some(_), true) => SyncStatus::Shared,
                (Some(_), false) => SyncStatus::Change,
            };
        }
    }
    // A variation sharing its product's stock names that stock even at its target, where its
    // row (status `same`) no longer says it shares.
    let stocks = rows
        .iter()
        .zip(&shares)
        .enumerate()
        .filter_map(|(n, (row, &shares))| {
            let stock = match (shares, row.item) {
                (true, Some(item)) => Some(StockItem::Product {
                    product: item.product(),
                }),
                _ => row.stock_counter(),
            };
            Some((n, stock?))
        });
    if let Some((earlier, n, stock)) = first_shared_stock(stocks) {
        return Err(Error::InvalidInput(format!(
            "targets {earlier} and {n} both move the stock of {stock:?} (a product and a \
             variation sharing its stock, or one item by SKU and by ids): give each stock one \
             target"
        )));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::fixtures::{product, read, variation};
    use crate::{Stock, StockChange, StockLevel};
    use SyncStatus::{Change, NotFound, Same, Several, Shared};

    /// The rows `plan_sync` makes of `targets` when `found` is what was read for each.
    fn make_rows(
        targets: Vec<SyncTarget>,
        found: Vec<Vec<StockLevel>>,
        mode: SyncMode,
    ) -> Result<Vec<SyncRow>, Error> {
        let mut reading = Reading::new(targets)?;
        for (n, items) in found.iter().enumerate() {
            for item in items {
                reading.note(n, item);
            }
        }
        super::make_rows(reading, mode)
    }

    /// A target of each status, and what was read for each.
    fn targets() -> (Vec<SyncTarget>, Vec<Vec<StockLevel>>) {
        let q = Stock::Quantity;
        let plain = read(variation(12), "TEE", q(20), true);
        let pairs = vec![
            (SyncTarget::sku("NOPE", q(1)), vec![]),
            (SyncTarget::item(product(9), q(1)), vec![]),
            (
                SyncTarget::sku("MUG", q(8)),
                vec![read(product(3), "MUG", q(8), false)],
            ),
            (
                SyncTarget::sku("TEE-S", q(12)),
                vec![read(variation(11), "TEE-S", q(10), false)],
            ),
            (SyncTarget::item(variation(12), q(25)), vec![plain]),
            (
                SyncTarget::sku("DUP", q(3)),
                vec![
                    read(product(4), "DUP", q(1), false),
                    read(product(5), "DUP", q(2), false),
                ],
            ),
            (
                SyncTarget::sku("GIFT", q(4)),
                vec![read(product(2), "GIFT", Stock::Unlimited, false)],
            ),
            (
                SyncTarget::item(product(7), Stock::Unlimited),
                vec![read(product(7), "CAP", q(5), false)],
            ),
        ];
        pairs.into_iter().unzip()
    }

    /// (sku, item, current, change, status) of each row.
    type Seen = (
        String,
        Option<StockItem>,
        Option<Stock>,
        Option<StockChange>,
        SyncStatus,
    );

    fn seen(rows: &[SyncRow]) -> Vec<Seen> {
        rows.iter()
            .map(|row| {
                (
                    row.sku.clone(),
                    row.item,
                    row.current,
                    row.change,
                    row.status,
                )
            })
            .collect()
    }

    #[test]
    fn a_rows_status_comes_from_what_was_found_for_its_target() {
        let (targets, found) = targets();
        let rows = make_rows(targets.clone(), found, SyncMode::Delta).unwrap();
        let q = Stock::Quantity;
        assert_eq!(
            seen(&rows),
            [
                ("NOPE".into(), None, None, None, NotFound),
                // A target given by item that is not there keeps its item.
                (String::new(), Some(product(9)), None, None, NotFound),
                ("MUG".into(), Some(product(3)), Some(q(8)), None, Same),
                (
                    "TEE-S".into(),
                    Some(variation(11)),
                    Some(q(10)),
                    Some(StockChange::Delta(2)),
                    Change
                ),
                // A variation sharing its product's stock shows the product's SKU.
                (
                    "TEE".into(),
                    Some(variation(12)),
                    Some(q(20)),
                    Some(StockChange::Delta(5)),
                    Shared
                ),
                ("DUP".into(), None, None, None, Several),
                (
                    "GIFT".into(),
                    Some(product(2)),
                    Some(Stock::Unlimited),
                    Some(StockChange::Set(q(4))),
                    Change
                ),
                // A target given by item shows the item's SKU.
                (
                    "CAP".into(),
                    Some(product(7)),
                    Some(q(5)),
                    Some(StockChange::Set(Stock::Unlimited)),
                    Change
                ),
            ]
        );
        assert_eq!(rows[5].matches, [product(4), product(5)]);
        assert!(rows
            .iter()
            .enumerate()
            .all(|(n, row)| n == 5 || row.matches.is_empty()));
        let targets: Vec<Stock> = targets.iter().map(SyncTarget::stock).collect();
        let rows_targets: Vec<Stock> = rows.iter().map(|row| row.target).collect();
        assert_eq!(rows_targets, targets);
        // Every row is one a saved plan may hold.
        for row in &rows {
            assert_eq!(row.check(SyncMode::Delta), Ok(()), "{row:?}");
        }
    }

    #[test]
    fn set_mode_rows_carry_counts() {
        let (targets, found) = targets();
        let rows = make_rows(targets, found, SyncMode::Set).unwrap();
        let changes: Vec<Option<StockChange>> = rows.iter().map(|row| row.change).collect();
        let set = |stock| Some(StockChange::Set(stock));
        assert_eq!(
            changes,
            [
                None,
                None,
                None,
                set(Stock::Quantity(12)),
                set(Stock::Quantity(25)),
                None,
                set(Stock::Quantity(4)),
                set(Stock::Unlimited),
            ]
        );
        let statuses: Vec<SyncStatus> = rows.iter().map(|row| row.status).collect();
        assert_eq!(
            statuses,
            [NotFound, NotFound, Same, Change, Shared, Several, Change, Change]
        );
        for row in &rows {
            assert_eq!(row.check(SyncMode::Set), Ok(()), "{row:?}");
        }
    }

    /// A variation sharing its product's stock names that stock whether or not it is at its
    /// target: beside a target for the product, in either order, it is a second target for one
    /// stock, and sending the product's change would leave the variation off its own.
    #[test]
    fn a_shared_variation_at_its_target_is_a_target_for_its_products_stock() {
        let q = Stock::Quantity;
        let shirt = || read(product(1), "TEE", q(20), false);
        let plain = || read(variation(12), "TEE", q(20), true);
        let cases = [
            // The shirt to 22, the variation (the same stock) left at 20.
            (q(22), q(20)),
            // Both at 20: nothing would be sent, but the file still gives one stock two targets.
            (q(20), q(20)),
            // The mirror of the first.
            (q(20), q(22)),
        ];
        for (shirt_target, plain_target) in cases {
            for reversed in [false, true] {
                let mut targets = vec![
                    SyncTarget::sku("TEE", shirt_target),
                    SyncTarget::item(variation(12), plain_target),
                ];
                let mut found = vec![vec![shirt()], vec![plain()]];
                if reversed {
                    targets.reverse();
                    found.reverse();
                }
                let why = conflict(targets, found);
                assert!(
                    why.starts_with("targets 0 and 1 both move the stock of Product"),
                    "{shirt_target:?}, {plain_target:?}, reversed {reversed}: {why}"
                );
            }
        }
    }

    fn conflict(targets: Vec<SyncTarget>, found: Vec<Vec<StockLevel>>) -> String {
        match make_rows(targets, found, SyncMode::Delta) {
            Err(Error::InvalidInput(why)) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_targets_moving_one_stock_are_refused() {
        let q = Stock::Quantity;
        // A product, and a variation that shares its stock.
        let why = conflict(
            vec![
                SyncTarget::sku("TEE", q(22)),
                SyncTarget::item(variation(12), q(25)),
            ],
            vec![
                vec![read(product(1), "TEE", q(20), false)],
                vec![read(variation(12), "TEE", q(20), true)],
            ],
        );
        assert!(
            why.starts_with("targets 0 and 1 both move the stock of"),
            "{why}"
        );
        // One item, by SKU and by its ids.
        let why = conflict(
            vec![
                SyncTarget::sku("MUG", q(1)),
                SyncTarget::sku("TEE-S", q(12)),
                SyncTarget::item(variation(11), q(12)),
            ],
            vec![
                vec![read(product(3), "MUG", q(8), false)],
                vec![read(variation(11), "TEE-S", q(10), false)],
                vec![read(variation(11), "TEE-S", q(10), false)],
            ],
        );
        assert!(
            why.starts_with("targets 1 and 2 both move the stock of"),
            "{why}"
        );
        // Items that were not found, or are several, move nothing: they never conflict.
        let rows = make_rows(
            vec![
                SyncTarget::sku("DUP", q(3)),
                SyncTarget::item(product(4), q(3)),
                SyncTarget::item(product(9), q(1)),
                SyncTarget::sku("NOPE", q(1)),
            ],
            vec![
                vec![
                    read(product(4), "DUP", q(1), false),
                    read(product(5), "DUP", q(2), false),
                ],
                vec![read(product(4), "DUP", q(1), false)],
                vec![],
                vec![],
            ],
            SyncMode::Delta,
        )
        .unwrap();
        assert_eq!(rows.len(), 4);
    }
}
