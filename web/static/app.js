// Airlock's one script, served from /static under the CSP's
// script-src 'self'. It only adds comfort to the pages: a button that shows
// a password as it is typed, and a checklist of the password rules that
// follows the typing. Every page works without it, and the server checks
// every rule again (with the blocklist of common passwords, which is not
// sent to browsers).
(function () {
  "use strict";

  // Show password: a toggle button (aria-pressed) for the fields it names.
  document.querySelectorAll("button.reveal[data-reveal]").forEach(function (button) {
    var fields = button.getAttribute("data-reveal").split(" ")
      .map(function (id) { return document.getElementById(id); })
      .filter(function (el) { return el && el.tagName === "INPUT"; });
    if (fields.length === 0) {
      return;
    }
    button.setAttribute("aria-controls", fields.map(function (el) { return el.id; }).join(" "));
    button.hidden = false;
    button.addEventListener("click", function () {
      var show = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", show ? "true" : "false");
      fields.forEach(function (el) { el.type = show ? "text" : "password"; });
    });
    // Sent as a password field, so that password managers offer to save it.
    if (fields[0].form) {
      fields[0].form.addEventListener("submit", function () {
        fields.forEach(function (el) { el.type = "password"; });
      });
    }
  });

  // The code field opens a phone's digit pad (inputmode=numeric); a
  // recovery code has letters: this switch gives the field a keyboard
  // with letters, and back. Without script the field still takes letters
  // from any keyboard that has them.
  var otp = document.getElementById("otp");
  var recovery = document.getElementById("use-recovery");
  if (otp && recovery) {
    recovery.hidden = false;
    recovery.addEventListener("click", function () {
      var letters = otp.getAttribute("inputmode") === "numeric";
      otp.setAttribute("inputmode", letters ? "text" : "numeric");
      otp.setAttribute("autocomplete", letters ? "off" : "one-time-code");
      otp.setAttribute("autocapitalize", letters ? "characters" : "off");
      recovery.textContent = recovery.getAttribute(letters ? "data-digits" : "data-text");
      otp.focus();
    });
  }

  // Recovery codes: copy them (one a line) or print them, besides the
  // download that works without script.
  var codes = document.getElementById("recovery-codes");
  var copy = document.getElementById("copy-codes");
  var print = document.getElementById("print-codes");
  if (codes && copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var text = Array.from(codes.querySelectorAll("code")).map(function (c) { return c.textContent; }).join("\n") + "\n";
      navigator.clipboard.writeText(text).then(function () { copy.textContent = copy.getAttribute("data-done"); });
    });
  }
  if (codes && print && window.print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }

  // A secret shown once (an application's): a button copies it; without
  // script the field can still be selected and copied by hand.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) {
      return;
    }
    button.setAttribute("aria-controls", field.id);
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () { button.textContent = button.getAttribute("data-done"); });
    });
  });

  // New user: with "send an invitation" ticked, the user chooses their
  // password, so the password fields go (and are not sent); unticked, they
  // come back. Without script the server says to choose one or the other.
  var invite = document.getElementById("invite");
  var part = document.getElementById("password-part");
  if (invite && part) {
    var sync = function () {
      part.hidden = invite.checked;
      part.querySelectorAll("input").forEach(function (el) { el.disabled = invite.checked; });
    };
    invite.addEventListener("change", sync);
    sync();
  }

  // Dates and times in the reader's time zone and language; the page's
  // UTC stays in the tooltip (and is what shows without script).
  var lang = document.documentElement.lang || "en";
  var day = new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric" });
  var clock = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var at = new Date(el.getAttribute("datetime"));
    var parts = el.querySelectorAll("span.nowrap");
    if (isNaN(at.getTime()) || parts.length !== 2) {
      return;
    }
    el.title = el.textContent;
    parts[0].textContent = day.format(at);
    parts[1].textContent = clock.format(at);
  });

  // The password rules, checked as the new password is typed.
  var box = document.getElementById("password-checks");
  var password = document.getElementById("password");
  if (!box || !password || !password.form) {
    return;
  }
  var form = password.form;
  var confirm = document.getElementById("password_confirm");
  var min = parseInt(box.getAttribute("data-min"), 10) || 12;

  function length(s) { return Array.from(s).length; } // code points, as the server counts
  function lower(s) { return (s || "").trim().toLowerCase(); }
  // On the new-user form, the email and names are those being typed.
  function typed(name, fallback) {
    var el = form.elements.namedItem(name);
    return el && typeof el.value === "string" ? el.value : box.getAttribute(fallback) || "";
  }
  function contains(pw, part) { return length(part) >= 3 && pw.indexOf(part) >= 0; }

  function update() {
    var value = password.value;
    var pw = value.toLowerCase();
    var local = lower(typed("email", "data-email").split("@")[0]);
    var names = [lower(typed("first_name", "data-first")), lower(typed("last_name", "data-last"))];
    var checks = {
      length: length(value) >= min && length(value) <= 128,
      email: !contains(pw, local),
      name: !names.some(function (n) { return contains(pw, n); }),
      match: !!confirm && confirm.value === value
    };
    box.querySelectorAll("li[data-check]").forEach(function (li) {
      var name = li.getAttribute("data-check");
      if (!(name in checks)) {
        return;
      }
      var met = value !== "" && checks[name];
      li.classList.toggle("met", met);
      var state = li.querySelector("[data-met]");
      if (state) {
        state.textContent = state.getAttribute(met ? "data-met" : "data-unmet");
      }
    });
  }

  [password, confirm, form.elements.namedItem("email"), form.elements.namedItem("first_name"), form.elements.namedItem("last_name")]
    .forEach(function (el) {
      if (el && el.addEventListener) {
        el.addEventListener("input", update);
      }
    });
  box.hidden = false;
  update();
})();
