//! firewatch-detect
