"""Host-side engine: requests, pages, scheduling, and the runner seam to the device."""
