//! tickete store-sqlite (see its issue).
