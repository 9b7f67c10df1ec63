pub mod generated;
mod ids;
mod transport;
mod error;
pub use ids::{CombinationId, ProductId, StoreId};
pub use error::Error;
