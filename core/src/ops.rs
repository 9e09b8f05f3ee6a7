//! Remote recipes built on exec: log sources (more recipes come with the ops tools).

pub mod logs;
