"""The course as students meet it: ``smtpkit lab`` opens the student notebooks in JupyterLab
(``lab``, ``command``), and ``nav`` keeps every notebook's table of contents and
previous/next links up to date (``smtpkit nav solutions``).
"""
