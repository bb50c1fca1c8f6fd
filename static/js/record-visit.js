// The e-card's "add an in-person visit" form: attach the ICD-10 search; the form itself posts normally.
(function () {
  "use strict";
  const box = document.querySelector(".visit-form .icd10");
  if (box && window.telemedIcd10) window.telemedIcd10.attach(box);
})();
