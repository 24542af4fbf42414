"""What a leaderboard prints: formatting (:mod:`.format`), the fixed sentences (:mod:`.texts`), the family
tables (:mod:`.tables`), the other sections (:mod:`.sections`, :mod:`.robustness_section`), the whole markdown
page (:mod:`.markdown`), CSV/JSON frames (:mod:`.frames`), PNG plots (:mod:`.plots`), a published page's
findings (:mod:`.prose`), and the static HTML site (:mod:`.html_site` writes it: pages :mod:`.html_page`, their
Plotly plots :mod:`.html_plots`, inline style and script :mod:`.html_assets`)."""
