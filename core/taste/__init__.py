"""The photographer's own taste, learned locally: profiles of signals (pairwise choices, their own ratings, their
choices in the review page, what their program sent the daemon), a small ranking model on the photo's embedding and
measurements, and the personal term the judging step adds."""
