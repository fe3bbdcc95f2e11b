/*
 * Practice page: record in the browser (or pick a file), listen back, send with progress.
 *
 * Markup (templates/assessments/practice.html): [data-recorder] section with its controls,
 * and the [data-upload-form] form that also works without this script. The server answers
 * an upload with the attempt panel fragment, which is swapped into #attempt-slot so htmx can
 * poll it; a refused upload answers 4xx with a message fragment for [data-upload-feedback]
 * (#upload-error). Nothing else is ever pasted into the page: a redirected answer (a sign-in
 * page) or an error page without that fragment gets a message of our own instead.
 */

// In order of preference; the upload is labelled with the type actually recorded.
const MIME_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"];
const EXTENSIONS = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a" };

const MESSAGES = {
  insecure:
    "Recording needs a secure page (an https:// address, or localhost). " +
    "You can still upload an audio file below.",
  unsupported:
    "This browser cannot record audio here. You can upload an audio file below instead.",
  denied:
    "Microphone access was blocked. Allow the microphone for this site in your browser's " +
    "settings (usually the icon next to the address), then press Start recording again.",
  noMicrophone:
    "No microphone was found. Connect one (or use a device with a microphone) and try " +
    "again, or upload an audio file below.",
  busy:
    "The microphone is in use by another app or could not be started. Close other apps " +
    "using it and try again.",
  failed: "Recording could not start. Try again, or upload an audio file below.",
  nothing: "Record yourself or choose an audio file first.",
  network: "The upload did not get through. Check your connection and send again.",
  signedOut:
    "You have been signed out. Sign in again in another tab, then send your recording " +
    "again: it is still here.",
  refused: "The server did not take your recording. It is still here: try sending it again.",
};

// Django's default CSRF cookie. Signing in again (in another tab) replaces the token, so the
// one rendered into this page goes stale; the cookie always holds the current one.
const CSRF_COOKIE = "csrftoken";

function csrfToken(form) {
  const cookie = document.cookie
    .split("; ")
    .find((pair) => pair.startsWith(`${CSRF_COOKIE}=`));
  if (cookie) return decodeURIComponent(cookie.slice(CSRF_COOKIE.length + 1));
  return form.elements.namedItem("csrfmiddlewaretoken").value;
}

// XMLHttpRequest follows redirects silently; the final address tells one happened.
function wasRedirected(request, form) {
  if (!request.responseURL) return false;
  const asked = new URL(form.action, window.location.href);
  const answered = new URL(request.responseURL, window.location.href);
  return answered.origin !== asked.origin || answered.pathname !== asked.pathname;
}

export function pickMimeType(isTypeSupported) {
  return MIME_TYPES.find((type) => isTypeSupported(type)) || "";
}

export function newSubmissionId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function formatTime(seconds) {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function problemFor(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
      return MESSAGES.denied;
    case "SecurityError":
      return window.isSecureContext ? MESSAGES.denied : MESSAGES.insecure;
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return MESSAGES.noMicrophone;
    case "NotReadableError":
    case "AbortError":
      return MESSAGES.busy;
    default:
      return MESSAGES.failed;
  }
}

function setup(section, form) {
  const maxSeconds = Number(section.dataset.maxSeconds || 30);
  const ui = section.querySelector("[data-recorder-ui]");
  const recordButton = section.querySelector('[data-action="record"]');
  const recordLabel = section.querySelector("[data-record-label]");
  const stopButton = section.querySelector('[data-action="stop"]');
  const indicator = section.querySelector("[data-recording-indicator]");
  const elapsed = section.querySelector("[data-elapsed]");
  const level = section.querySelector("[data-level]");
  const preview = section.querySelector("[data-preview]");
  const previewAudio = section.querySelector("[data-preview-audio]");
  const status = section.querySelector("[data-recorder-status]");
  const problem = section.querySelector("[data-recorder-problem]");

  const fileInput = form.querySelector('input[type="file"]');
  const submitButton = form.querySelector('[data-action="submit"]');
  const feedback = form.querySelector("[data-upload-feedback]");
  const progressWrap = form.querySelector("[data-upload-progress-wrap]");
  const progress = form.querySelector("[data-upload-progress]");
  const tokenField = form.elements.namedItem("submission_id");
  const mimeField = form.elements.namedItem("mime_type");
  const slot = document.getElementById("attempt-slot");
  const live = document.getElementById("attempt-live");

  let recording = null; // {blob, type} once a take is finished
  let session = null; // the live recorder, stream, meter and timers
  let sending = false;
  let starting = false; // between the click and the microphone's answer

  const showProblem = (message) => {
    problem.textContent = message;
    problem.hidden = !message;
  };
  // Problems with sending are shown next to the send button, where the learner is looking.
  const showSendProblem = (message) => {
    feedback.textContent = "";
    const notice = document.createElement("p");
    notice.className = "notice notice--error";
    notice.setAttribute("role", "alert");
    notice.textContent = message;
    feedback.appendChild(notice);
  };
  const setRecording = (on) => {
    recordButton.hidden = on;
    stopButton.hidden = !on;
    if (indicator) indicator.hidden = !on;
  };
  const say = (message) => {
    status.textContent = message;
  };
  const freshToken = () => {
    tokenField.value = newSubmissionId();
  };

  if (!window.isSecureContext) {
    showProblem(MESSAGES.insecure);
  } else if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
    showProblem(MESSAGES.unsupported);
  } else {
    ui.hidden = false;
  }

  function startMeter(stream) {
    const AudioContextClass = window.AudioContext || window.webkitAudioContext;
    if (!AudioContextClass) return null;
    const context = new AudioContextClass();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let frame = 0;
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      // RMS scaled so ordinary speech fills most of the meter.
      level.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
      frame = requestAnimationFrame(tick);
    };
    tick();
    return () => {
      cancelAnimationFrame(frame);
      level.value = 0;
      context.close();
    };
  }

  async function start() {
    // A second click while the browser is still opening the microphone (a double click, or
    // one while the permission prompt is up) must not open a second, never-released stream.
    if (session || starting) return;
    starting = true;
    try {
      await begin();
    } finally {
      starting = false;
    }
  }

  async function begin() {
    showProblem("");
    let stream;
    try {
      // Asked only now, on the learner's click, never on page load.
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
      });
    } catch (error) {
      showProblem(problemFor(error));
      return;
    }
    const chosen = pickMimeType((type) => MediaRecorder.isTypeSupported(type));
    let recorder;
    try {
      recorder = chosen ? new MediaRecorder(stream, { mimeType: chosen }) : new MediaRecorder(stream);
    } catch (error) {
      stream.getTracks().forEach((track) => track.stop());
      showProblem(problemFor(error));
      return;
    }
    const chunks = [];
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data && event.data.size) chunks.push(event.data);
    });
    recorder.addEventListener("stop", () => {
      const type = recorder.mimeType || chosen || (chunks[0] && chunks[0].type) || "audio/webm";
      finish(new Blob(chunks, { type }), type);
    });
    const began = performance.now();
    session = {
      recorder,
      stream,
      stopMeter: startMeter(stream),
      timer: setInterval(() => {
        const seconds = (performance.now() - began) / 1000;
        elapsed.textContent = formatTime(Math.min(seconds, maxSeconds));
        if (seconds >= maxSeconds) stop();
      }, 200),
    };
    recorder.start(250);
    elapsed.textContent = "0:00";
    preview.hidden = true;
    setRecording(true);
    stopButton.focus();
    submitButton.disabled = true;
    say(`Recording… it stops by itself after ${maxSeconds} seconds.`);
  }

  function stop() {
    if (!session) return;
    const { recorder, stream, stopMeter, timer } = session;
    session = null;
    if (indicator) indicator.hidden = true;
    clearInterval(timer);
    if (stopMeter) stopMeter();
    if (recorder.state !== "inactive") recorder.stop();
    stream.getTracks().forEach((track) => track.stop()); // release the microphone
  }

  function finish(blob, type) {
    if (previewAudio.src) URL.revokeObjectURL(previewAudio.src);
    recording = { blob, type };
    previewAudio.src = URL.createObjectURL(blob);
    preview.hidden = false;
    setRecording(false);
    recordLabel.textContent = "Record again";
    if (fileInput) fileInput.value = "";
    freshToken();
    submitButton.disabled = false;
    say("Recording finished. Listen back, then send it for scoring, or record again.");
    recordButton.focus();
  }

  function resetProgress() {
    progressWrap.hidden = true;
    progress.value = 0;
    progress.textContent = "0%";
  }

  function send(event) {
    event.preventDefault();
    if (sending) return; // a second click while the first upload runs does nothing
    const hasFile = fileInput && fileInput.files && fileInput.files.length > 0;
    if (!recording && !hasFile) {
      showProblem("");
      showSendProblem(MESSAGES.nothing);
      return;
    }
    showProblem("");
    sending = true;
    submitButton.disabled = true;
    feedback.textContent = "";
    const data = new FormData(form);
    if (recording && !hasFile) {
      const base = recording.type.split(";")[0];
      data.set("audio", recording.blob, `recording.${EXTENSIONS[base] || "webm"}`);
      data.set("mime_type", recording.type);
    } else {
      data.set("mime_type", fileInput.files[0].type || "");
    }
    mimeField.value = data.get("mime_type");
    const token = csrfToken(form);
    data.set("csrfmiddlewaretoken", token); // Django reads the field before the header

    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("HX-Request", "true");
    request.setRequestHeader("X-CSRFToken", token);
    progressWrap.hidden = false;
    request.upload.addEventListener("progress", (progressEvent) => {
      if (!progressEvent.lengthComputable) return;
      const percent = Math.round((progressEvent.loaded / progressEvent.total) * 100);
      progress.value = percent;
      progress.textContent = `${percent}%`;
    });
    request.addEventListener("load", () => {
      sending = false;
      resetProgress();
      if (wasRedirected(request, form)) {
        // Most likely the sign-in page: never show it as the result.
        submitButton.disabled = false;
        showSendProblem(MESSAGES.signedOut);
        return;
      }
      if (request.status >= 200 && request.status < 300) {
        // Accepted: keep the button off until the learner records or picks something new.
        swapInto(slot, request.responseText);
        say("");
        // On a phone the panel would start below the fold: bring it into view.
        slot.scrollIntoView({ block: "start" });
        return;
      }
      submitButton.disabled = false;
      // Our refusals (4xx, and a 503 from a busy database) carry the #upload-error fragment;
      // anything else is an error page that must not be pasted in.
      const explained = request.responseText.includes('id="upload-error"');
      if (request.status >= 400 && explained) {
        swapInto(feedback, request.responseText);
      } else if (request.status >= 400 && request.status < 500) {
        showSendProblem(MESSAGES.refused);
      } else {
        showSendProblem(MESSAGES.network);
      }
    });
    request.addEventListener("error", () => {
      sending = false;
      resetProgress();
      submitButton.disabled = false;
      showSendProblem(MESSAGES.network);
    });
    live.textContent = "Sending your recording…";
    request.send(data);
  }

  function swapInto(target, html) {
    if (window.htmx && typeof window.htmx.swap === "function") {
      // htmx.swap also applies the out-of-band live-region update and starts polling.
      window.htmx.swap(target, html, { swapStyle: "innerHTML", swapDelay: 0, settleDelay: 0 });
    } else {
      target.innerHTML = html;
      if (window.htmx) window.htmx.process(target);
    }
  }

  recordButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  form.addEventListener("submit", send);
  if (fileInput) {
    fileInput.addEventListener("change", () => {
      // The newest choice wins: a picked file replaces an earlier recording.
      if (fileInput.files.length) {
        recording = null;
        preview.hidden = true;
        freshToken();
        submitButton.disabled = false;
        showProblem("");
        feedback.textContent = "";
      }
    });
  }
}

const section = document.querySelector("[data-recorder]");
const uploadForm = document.querySelector("[data-upload-form]");
if (section && uploadForm) setup(section, uploadForm);
