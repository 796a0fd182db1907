"""ABS-9 reading comprehension: a start/end span head over context tokens, long contexts in sliding windows."""
