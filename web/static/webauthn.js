// Passkeys in the browser (WebAuthn), served from /static under the CSP's
// script-src 'self', on the pages that offer them only. A button asks the
// browser to make or use a passkey with the server's options, then posts
// the browser's answer in an ordinary form; the server checks everything.
// The sign-in page also offers passkeys in the email field's autofill
// (conditional mediation). Without script, or without WebAuthn, the
// buttons stay hidden and the password works as before.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function fromB64(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function ids(list) {
    (list || []).forEach(function (c) { c.id = fromB64(c.id); });
  }

  // The server's options (the JSON of go-webauthn) as the browser takes them.
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64(pk.challenge);
    pk.user.id = fromB64(pk.user.id);
    ids(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64(pk.challenge);
    ids(pk.allowCredentials);
    return pk;
  }

  // The browser's answer as JSON (PublicKeyCredential.toJSON's shape).
  function answer(c) {
    var r = c.response;
    var out = {
      id: c.id, rawId: toB64(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64(r.userHandle);
      }
    }
    return JSON.stringify(out);
  }

  function post(form, credential) {
    form.querySelector("input[name=credential]").value = answer(credential);
    form.submit();
  }

  function fail(button, text) {
    var error = document.getElementById(button.getAttribute("data-form").replace(/-form$/, "") + "-error") ||
      document.getElementById("passkey-error");
    if (error) {
      error.textContent = text || button.getAttribute("data-failed");
      error.hidden = false;
    }
    button.disabled = false;
  }

  // options fetches a ceremony's options: the server keeps its state, and
  // this browser the cookie naming it.
  function options(url) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "" })
      .then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) {
            throw new Error(body.error || "");
          }
          return body;
        });
      });
  }

  // Making a passkey: the options are in the page (the password was
  // checked on the way here).
  document.querySelectorAll("button[data-passkey=create]").forEach(function (button) {
    var form = document.getElementById(button.getAttribute("data-form"));
    var note = document.getElementById("passkey-needs-script");
    if (note) {
      note.hidden = true;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      var o;
      try {
        o = creationOptions(JSON.parse(button.getAttribute("data-options")));
      } catch (e) {
        fail(button);
        return;
      }
      navigator.credentials.create({ publicKey: o })
        .then(function (c) { post(form, c); }, function () { fail(button); });
    });
  });

  // Using a passkey: a sign-in, a second step, confirming a removal.
  document.querySelectorAll("button[data-passkey=get]").forEach(function (button) {
    var form = document.getElementById(button.getAttribute("data-form"));
    var url = button.getAttribute("data-options");
    var note = document.getElementById("passkey-needs-script");
    if (note) {
      note.hidden = true;
    }
    // The autofill's request (conditional mediation), given up when the
    // button is used: a browser takes one request at a time.
    var pending = null;
    var settled = Promise.resolve();
    button.hidden = false;
    button.addEventListener("click", function () {
      if (pending) {
        pending.abort();
        pending = null;
      }
      button.disabled = true;
      settled
        .then(function () { return options(url); })
        .then(function (o) { return navigator.credentials.get({ publicKey: requestOptions(o) }); })
        .then(function (c) { post(form, c); }, function (e) { fail(button, e && e.name === "Error" ? e.message : ""); });
    });
    if (button.hasAttribute("data-conditional") && PublicKeyCredential.isConditionalMediationAvailable) {
      settled = PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (!yes) {
          return;
        }
        pending = new AbortController();
        var signal = pending.signal;
        return options(url)
          .then(function (o) {
            return navigator.credentials.get({ publicKey: requestOptions(o), mediation: "conditional", signal: signal });
          })
          .then(function (c) { post(form, c); });
      }).catch(function () { /* the autofill was not used, or gave up: nothing to say */ });
    }
  });
})();
