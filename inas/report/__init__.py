"""Looking at studies: tables (`data`), plotly figures (`figures`), HTML reports (`page`), commands."""
