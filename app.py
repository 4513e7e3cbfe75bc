"""WSGI entry point: `app` for servers, `python app.py` to serve on MOCK_HOST:MOCK_PORT."""

from mock_server import create_app

if __name__ == "__main__":
    from mock_server.serve import serve

    serve(create_app)  # built where it serves (granian: in its worker, so the parent holds no copy)
else:
    app = create_app()
