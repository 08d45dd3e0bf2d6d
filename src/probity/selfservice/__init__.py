"""Self-service on the phone: the employee's hub (/me), installable as a PWA."""
