//! Tests of the repository itself: the docs agree with each other, and no source file imports
//! itself through others, and the crate root re-exports few names.

mod docs;
mod import_circles;
mod root;
