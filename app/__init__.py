"""The Gradio web app: a thin face over translation.runtime (launch with `translation app`)."""
