//! Record formats that more than one command speaks: what `csv` and `json`
//! share beyond bytes in and out (those come from [`crate::io`]).

pub mod flatten;
