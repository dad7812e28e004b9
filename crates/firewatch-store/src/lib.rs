//! firewatch-store
