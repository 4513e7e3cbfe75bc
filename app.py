"""WSGI entry point: `app` for servers, `python app.py` to serve on MOCK_HOST:MOCK_PORT."""

from mock_server import create_app

app = create_app()

if __name__ == "__main__":
    from mock_server.serve import serve

    serve(app)
