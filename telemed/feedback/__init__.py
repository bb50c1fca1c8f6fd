"""After the consultation: the member confirms it happened and rates the doctor and the service;
a low score or a visit that did not happen opens a complaint for the curator service."""
