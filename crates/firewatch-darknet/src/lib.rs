//! firewatch-darknet
