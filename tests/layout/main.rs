//! Tests of the repository itself: the docs agree with each other, and no source file imports
//! itself through others.

mod docs;
mod import_circles;
