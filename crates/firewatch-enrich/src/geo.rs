//! geo (in progress)
