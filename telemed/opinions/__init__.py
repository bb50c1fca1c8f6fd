"""«Второе медицинское мнение»: a member asks for a second opinion on a condition; the curator
service contacts them within one business day, an expert reviews, the report lands in the e-card."""
