"""One router per resource; ``roadcloud.api.app.create_app`` mounts them all."""
