//! Generates the raw Ecwid client from `spec/ecwid-inventory.yaml` into `OUT_DIR`.
//!
//! Nothing generated is committed: edit the spec, rebuild, and `ecwid_inventory::generated`
//! follows. A spec that cannot be read or turned into Rust fails the build with a message naming
//! the file and the problem.

use std::{env, fs, path::Path, process};

const SPEC: &str = "spec/ecwid-inventory.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    if let Err(problem) = generate() {
        // A build script's stderr is shown by cargo when the script fails.
        eprintln!("error: cannot generate the Ecwid client from {SPEC}: {problem}");
        process::exit(1);
    }
}

fn generate() -> Result<(), String> {
    let text = fs::read_to_string(SPEC).map_err(|e| format!("cannot read the file: {e}"))?;
    let spec: openapiv3::OpenAPI = serde_yaml_ng::from_str(&text)
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;

    let mut settings = progenitor::GenerationSettings::default();
    settings
        // Each call names the parameters it sets (`.store_id(..).deduplication_key(..)`), so a
        // call site can be checked against the spec; positional arguments follow progenitor's
        // order, not the spec's.
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        // The wrapper implements `ClientHooks` itself: it records what the wire saw so that
        // every error can say whether the request may have been applied.
        .with_hooks(progenitor::HooksMode::Expected)
        .with_inner_type(quote_inner())
        .with_derive("schemars::JsonSchema");

    // progenitor panics on some documents it cannot handle (an operation with two different
    // response body types, for one); turn that into the same clear failure as an error.
    std::panic::set_hook(Box::new(|_| {}));
    let generated =
        std::panic::catch_unwind(|| progenitor::Generator::new(&settings).generate_tokens(&spec));
    let _ = std::panic::take_hook();
    let tokens = match generated {
        Ok(result) => result.map_err(|e| format!("progenitor rejected the document: {e}"))?,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            return Err(format!(
                "progenitor cannot handle the document ({message}); note that all error \
                 statuses of an operation must share one schema"
            ));
        }
    };
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    let code = prettyplease::unparse(&file);

    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?;
    let out = Path::new(&out_dir).join("ecwid_inventory_generated.rs");
    fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// The per-call context the generated client carries to the wrapper's hooks.
fn quote_inner() -> proc_macro2::TokenStream {
    "crate::transport::CallContext"
        .parse()
        .expect("a valid Rust path")
}
