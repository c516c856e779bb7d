//! OVAL 5.11 evaluation: datatypes and operations, variables, objects, states, tests,
//! criteria, and the probes that collect items through an `ato_target::Target`.

pub mod compare;
pub mod pcre;
