"""The Streamlit dashboard of sslcore (entry: app.py)."""
