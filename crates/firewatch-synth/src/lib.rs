//! firewatch-synth
