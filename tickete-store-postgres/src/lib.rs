//! tickete store-postgres (see its issue).
