"""Switch maintenance from the Wagtail admin: add ``"maintenance_mode.contrib.wagtail"``
to ``INSTALLED_APPS`` (after ``"maintenance_mode"``)."""
