//! Stock, one item at a time: the values a call takes and returns, and the builder of each
//! single call.
//!
//! [`Client`](crate::Client) starts each call, and returns its builder: set its options
//! ([`RequestOptions`](crate::RequestOptions), a deadline, a timeout), then `.send().await`,
//! or `.await` it directly.
//!
//! | Call | Builder | Answers |
//! |---|---|---|
//! | [`adjust_stock`](crate::Client::adjust_stock) and its kin | [`AdjustStock`] | [`StockAdjustment`] |
//! | [`set_stock`](crate::Client::set_stock) | [`SetStock`] | [`Stock`] |
//! | [`stock`](crate::Client::stock) | [`ReadStock`] | [`StockLevel`] |
//! | [`find_sku`](crate::Client::find_sku) | [`FindSku`] | [`SkuMatch`] |
//! | [`find_skus`](crate::Client::find_skus) | [`FindSkus`] | [`SkuReport`] |
//!
//! The many-item jobs have modules of their own: [`bulk`](crate::bulk) (many deltas, exactly
//! once), [`sync`](crate::sync) (a warehouse file), [`catalog`](crate::catalog) (every item's
//! stock).

mod types;

pub use crate::adjust::AdjustStock;
pub use crate::options::SendFuture;
pub use crate::reads::{FindSku, FindSkus, ReadStock, SkuMatch, SkuReport};
pub use crate::sets::SetStock;
pub(crate) use types::{check_delta, stock_update};
pub use types::{Stock, StockAdjustment, StockChange, StockItem, StockLevel, MAX_QUANTITY};
