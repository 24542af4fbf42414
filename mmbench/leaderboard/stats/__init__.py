"""The leaderboard's statistics, each in its own module: intervals over seeds (:mod:`.intervals`), Δm%
(:mod:`.delta`), ranks (:mod:`.ranks`), paired tests (:mod:`.paired`: t-test and sign-flip), equivalence and power
(:mod:`.equivalence`: TOST, MDE), their adjustment (:mod:`.multiplicity`) inside declared families with one verdict
per comparison (:mod:`.families`), Δm% and gain with the reference's variance (:mod:`.relative`), the page's
comparisons (:mod:`.comparisons`), pooled verdicts over contexts and datasets (:mod:`.pooled`), statistically tied
tiers (:mod:`.tiers`), robustness summaries (:mod:`.robustness`) and rliable aggregates (:mod:`.aggregates`)."""
