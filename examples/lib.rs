//! Shared helpers for the runnable recipes in this folder (see the `[[example]]` targets).
